// Keyboard-driven review queue: j/k move, a approve, r reject, x select, u undo, ? help.
// Decisions go to the JSON API with the session cookie and the page's CSRF token; the form's
// buttons keep working without this script.
(function () {
  "use strict";
  const form = document.getElementById("queue");
  if (!form) return;
  const site = form.dataset.site;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const toast = document.getElementById("toast");
  const help = document.getElementById("help");
  const pendingCount = document.getElementById("pending-count");
  const UNDO_MS = 12000;
  let current = -1;
  let last = null;
  let toastTimer = null;

  function cards() {
    return Array.from(form.querySelectorAll(".card")).filter((c) => !c.hidden);
  }

  function show(message) {
    toast.textContent = message;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toast.hidden = true; }, UNDO_MS);
  }

  function focus(index) {
    const list = cards();
    if (!list.length) {
      current = -1;
      document.getElementById("empty").hidden = false;
      if (form.dataset.full === "yes") window.location.reload();
      return;
    }
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((card, i) => card.classList.toggle("current", i === current));
    list[current].focus({ preventScroll: true });
    list[current].scrollIntoView({ block: "nearest" });
  }

  function api(path, body) {
    return fetch("/v1/sites/" + encodeURIComponent(site) + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    }).then((response) => response.json().then((data) => ({ ok: response.ok, data: data })));
  }

  function adjustPending(delta) {
    if (pendingCount) pendingCount.textContent = String(Number(pendingCount.textContent) + delta);
  }

  function decide(card, decision, label) {
    if (!card || card.dataset.busy) return;
    const labels = decision === "reject" ? [label || card.dataset.top] : [];
    const index = cards().indexOf(card);
    card.dataset.busy = "1";
    api("/queue/" + encodeURIComponent(card.dataset.id) + "/decision",
        { decision: decision, labels: labels })
      .then((result) => {
        delete card.dataset.busy;
        if (!result.ok) {
          card.classList.add("taken");
          show(result.data.error ? result.data.error.message : "The decision failed.");
          return;
        }
        card.hidden = true;
        last = { card: card, at: Date.now() };
        adjustPending(-1);
        show((decision === "approve" ? "Approved" : "Rejected") + " #" + card.dataset.id +
             " — press u to undo");
        focus(index);
      })
      .catch(() => { delete card.dataset.busy; show("Network error; nothing was decided."); });
  }

  function undo() {
    if (!last || Date.now() - last.at > UNDO_MS) { show("Nothing to undo."); return; }
    const card = last.card;
    last = null;
    api("/queue/" + encodeURIComponent(card.dataset.id) + "/undo").then((result) => {
      if (!result.ok) { show(result.data.error ? result.data.error.message : "Undo failed."); return; }
      card.hidden = false;
      document.getElementById("empty").hidden = true;
      adjustPending(1);
      show("Undone: #" + card.dataset.id + " is back in the queue");
      focus(cards().indexOf(card));
    });
  }

  function bulk(decision) {
    const selected = cards().filter((c) => c.querySelector('input[name="selected"]').checked);
    if (!selected.length) { show("Select comments first (x)."); return; }
    const decisions = selected.map((c) => ({
      comment_id: c.dataset.id, decision: decision,
      labels: decision === "reject" ? [c.dataset.top] : [],
    }));
    api("/queue/decisions", { decisions: decisions }).then((result) => {
      let done = 0;
      (result.data.results || []).forEach((r, i) => {
        if (r.error) { selected[i].classList.add("taken"); } else { selected[i].hidden = true; done += 1; }
      });
      adjustPending(-done);
      show(done + " decided");
      focus(0);
    });
  }

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    event.preventDefault();
    if (button.name === "bulk") { bulk(button.value); return; }
    const card = button.closest(".card");
    focus(cards().indexOf(card));
    decide(card, button.dataset.decision, button.dataset.label);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = event.target.tagName;
    if ((tag === "INPUT" && event.target.type !== "checkbox") || tag === "SELECT" || tag === "TEXTAREA") return;
    const list = cards();
    const card = list[current];
    switch (event.key) {
      case "j": focus(current + 1); break;
      case "k": focus(current - 1); break;
      case "a": decide(card, "approve"); break;
      case "r": decide(card, "reject"); break;
      case "x": if (card) { const box = card.querySelector('input[name="selected"]'); box.checked = !box.checked; } break;
      case "u": undo(); break;
      case "?": help.hidden = !help.hidden; break;
      case "Escape": help.hidden = true; break;
      default: return;
    }
    event.preventDefault();
  });

  focus(0);
  // Marks the page as listening for keys: a key pressed before this point is not seen.
  form.dataset.keyboard = "ready";
})();
