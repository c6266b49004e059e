// Keyboard-driven review queue: j/k move, a approve, r reject, x select, u undo, ? help.
// Decisions go to the JSON API with the session cookie and the page's CSRF token; the form's
// buttons keep working without this script. Leaving the page gives its unfinished leases back.
(function () {
  "use strict";
  const form = document.getElementById("queue");
  if (!form) return;
  const site = form.dataset.site;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const toast = document.getElementById("toast");
  const help = document.getElementById("help");
  const helpClose = document.getElementById("help-close");
  const empty = document.getElementById("empty");
  const waiting = document.getElementById("waiting");
  // The server's undo window, so the page never offers an undo the server would refuse.
  const UNDO_MS = Number(form.dataset.undoSeconds) * 1000;
  const COUNTS_MS = 15000;
  // A decision key counts only once the card it would act on has been shown this long, so a
  // quick double press never decides a card that appeared between the two presses.
  const STEADY_MS = 200;
  // The last decision survives the reload that follows clearing a full page, so u still works.
  const UNDO_KEY = "modq.undo." + site;
  const NOTICE_KEY = "modq.notice." + site;
  const UNAVAILABLE = "The service is unavailable right now; nothing was decided. Try again in a moment.";
  const GONE = "No longer stored: the site withdrew it, or it passed the site's retention.";
  let current = null;
  // The last action's decided comment ids (one, or a bulk decision's), for u.
  let last = loadUndo();
  let inFlight = 0;
  let steadyFrom = 0;
  // Whether this moderator decided anything on this page: only then does a page without an open
  // card load the queue again (a page that opens with none would otherwise reload for ever).
  let worked = false;
  let freeTimer = null;
  let steadyTimer = null;
  let undoing = false;
  let sessionOver = false;
  let toastTimer = null;

  function cards() {
    return Array.from(form.querySelectorAll(".card")).filter((c) => !c.hidden);
  }

  function checkbox(card) {
    return card.querySelector('input[name="selected"]');
  }

  function leasedToAnother(card) {
    return Boolean(card.dataset.leased) && !(Date.parse(card.dataset.leaseUntil) <= Date.now());
  }

  // Whether j/k stop on the card: not decided or held by another moderator.
  function isOpen(card) {
    return !card.hidden && !card.classList.contains("taken") && !leasedToAnother(card);
  }

  function clock(iso) {
    const at = new Date(iso);
    return isNaN(at) ? iso : at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function show(message, link) {
    // The live region stays in the layout and only its text changes: a region shown and filled
    // in one step is often not announced. Empty, the stylesheet keeps it out of sight.
    toast.textContent = message;
    clearTimeout(toastTimer);
    if (link) {
      const anchor = document.createElement("a");
      anchor.href = link.href;
      anchor.textContent = link.text;
      toast.append(anchor);
      anchor.focus();
      return;
    }
    toastTimer = setTimeout(() => { toast.textContent = ""; }, UNDO_MS);
  }

  // `appeared`: the card comes up by itself (page load, a decision, a taken card), not by the
  // moderator moving to it, so decision keys wait until it has been seen.
  function makeCurrent(card, moveFocus, appeared) {
    form.querySelectorAll(".card.current").forEach((c) => c.classList.remove("current"));
    if (appeared && card && card !== current) {
      steadyFrom = Date.now() + STEADY_MS;
      markKeys();
    }
    current = card || null;
    if (!current) return;
    current.classList.add("current");
    if (moveFocus) {
      current.focus({ preventScroll: true });
      current.scrollIntoView({ block: "nearest" });
    }
  }

  // The nearest open card after (step 1) or before (step -1) `from`; from the ends without one.
  function nextOpen(from, step) {
    const list = cards();
    let index = from ? list.indexOf(from) : -1;
    if (index === -1) index = step > 0 ? -1 : list.length;
    for (let i = index + step; i >= 0 && i < list.length; i += step) {
      if (isOpen(list[i])) return list[i];
    }
    return null;
  }

  function reloadQueue() {
    // The toast would be lost with the page: the reloaded page shows it again.
    if (toast.textContent && !toast.querySelector("a")) {
      try { sessionStorage.setItem(NOTICE_KEY, toast.textContent); } catch (error) { /* no notice */ }
    }
    window.location.reload();
  }

  // After cards left the list or were taken: focus `next` (the card that has just appeared in
  // place of the one decided); once no card is left that this moderator can decide, load the
  // queue again if there may be more, or say why there is nothing to do.
  function settle(next) {
    const open = cards().filter(isOpen);
    clearTimeout(freeTimer);
    waiting.hidden = true;
    if (open.length) {
      empty.hidden = true;
      makeCurrent(next && isOpen(next) ? next : open[0], true, true);
      return;
    }
    makeCurrent(null);
    // Held by another moderator, whether the page knew it when it loaded or learnt it since.
    const held = cards().filter(leasedToAnother);
    if (worked && (form.dataset.more === "yes" || freeElsewhere())) { reloadQueue(); return; }
    if (!held.length && !pendingBeyond(held)) { empty.hidden = false; return; }
    empty.hidden = true;
    if (!held.length) {
      // The counts say comments are pending that this page does not show (or that others took
      // and the counts have not caught up with): the next refresh of the counts decides.
      waiting.textContent = "Other comments are still pending; the queue loads again by itself " +
        "once the counts show one for you.";
      waiting.hidden = false;
      return;
    }
    const first = Math.min(...held.map((c) => Date.parse(c.dataset.leaseUntil)));
    waiting.textContent = (held.length === 1
      ? "The one comment here is being reviewed by " + held[0].dataset.leased + "; it is free at "
      : "All " + held.length + " comments here are being reviewed by others; the first is free at ") +
      clock(new Date(first).toISOString()) + " (your local time), when the queue loads again by itself.";
    waiting.hidden = false;
    freeTimer = setTimeout(() => window.location.reload(), Math.max(0, first - Date.now()) + 1000);
  }

  // The latest counts: the page's, kept up to date by decisions and the counts refresh. A
  // filtered page's counts are the whole site's, so they say nothing about what the filters
  // would show: such a page never goes by them.
  function count(id) {
    return form.dataset.filtered === "yes" ? 0 : Number(document.getElementById(id).textContent);
  }

  // Whether comments no moderator has leased are pending: asked only when this page has no open
  // card, so loading the queue again would bring them. Comments other moderators hold beyond
  // the ones shown here do not count: a page full of those would otherwise load again at every
  // refresh of the counts, and show the same cards.
  function freeElsewhere() {
    return count("pending-count") - count("leased-count") > 0;
  }

  // Whether comments are pending beyond the `held` ones on this page, free or not.
  function pendingBeyond(held) {
    return count("pending-count") > held.length;
  }

  function request(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then((response) => response.json()
      .catch(() => ({}))
      .then((data) => ({ ok: response.ok, status: response.status, data: data || {} })));
  }

  function api(path, body) {
    return request("POST", "/v1/sites/" + encodeURIComponent(site) + path, body || {});
  }

  function itemState(id) {
    return request("GET", "/ui/sites/" + encodeURIComponent(site) + "/state/" + encodeURIComponent(id));
  }

  function errorCode(result) {
    return result.data.error ? result.data.error.code : "";
  }

  function errorMessage(result, otherwise) {
    return result.data.error && result.data.error.message ? result.data.error.message : otherwise;
  }

  // The login lapsed, or the page's form token belongs to an older login.
  function sessionEnded(result) {
    return result.status === 401 || (result.status === 403 && errorCode(result) === "csrf");
  }

  function endSession() {
    sessionOver = true;
    show("Session expired — ", { href: form.dataset.login, text: "log in" });
  }

  function adjustCount(id, delta) {
    const count = document.getElementById(id);
    if (count) count.textContent = String(Math.max(0, Number(count.textContent) + delta));
  }

  // A decision takes the comment out of the pending ones, and ends this moderator's lease on it.
  function countDecided(list, delta) {
    adjustCount("pending-count", delta * list.length);
    adjustCount("leased-count", delta * list.filter((c) => c.dataset.mine && !c.dataset.undone).length);
  }

  function markTaken(card, message, quiet) {
    const next = nextOpen(card, 1) || nextOpen(card, -1);
    card.classList.add("taken");
    const note = card.querySelector(".taken-note");
    note.textContent = message;
    note.hidden = false;
    card.setAttribute("aria-label", "Comment #" + card.dataset.id + ": " + message);
    if (quiet) return;
    show("#" + card.dataset.id + ": " + message);
    if (card === current) settle(next);
  }

  // Another moderator got there first: find out who, and say so in plain words. Resolves once
  // the card is marked.
  function explainTaken(card, quiet) {
    const id = card.dataset.id;
    return itemState(id).then((result) => {
      const state = result.ok ? result.data : {};
      if (state.status && state.status !== "pending_review") {
        // Out of the pending ones, and out of the leased ones if this page held it.
        countDecided([card], -1);
        markTaken(card, "Already decided by " + (state.decided_by || "another moderator") + ".", quiet);
      } else if (state.lease_holder && state.lease_holder !== state.yours) {
        // A lease the counts did not have on this page: it was shown unleased.
        if (!card.dataset.mine && !card.dataset.leased) adjustCount("leased-count", 1);
        card.dataset.leased = state.lease_holder;
        card.dataset.leaseUntil = state.lease_expires_at;
        markTaken(card, "Being reviewed by " + state.lease_holder + " until " +
                  clock(state.lease_expires_at) + ".", quiet);
      } else if (result.ok) {
        show("#" + id + " is free again; decide it once more.");
      } else {
        markTaken(card, "Taken by another moderator.", quiet);
      }
    }, () => markTaken(card, "Taken by another moderator.", quiet));
  }

  function decided(card, decision) {
    const next = nextOpen(card, 1) || nextOpen(card, -1);
    card.hidden = true;
    worked = true;
    rememberUndo([card.dataset.id]);
    countDecided([card], -1);
    show((decision === "approve" ? "Approved" : "Rejected") + " #" + card.dataset.id +
         " — press u to undo");
    settle(next);
  }

  // The answer was lost: the server may have saved the decision. Ask it before saying anything.
  function recheck(card, decision) {
    const id = card.dataset.id;
    const unsure = "No answer from the server: the decision on #" + id + " may not have been saved.";
    show(unsure + " Checking…");
    itemState(id).then((result) => {
      if (sessionEnded(result)) { endSession(); return; }
      if (!result.ok) { show(unsure + " Open #" + id + " to check before deciding it again."); return; }
      const state = result.data;
      if (state.status === "pending_review") {
        show("The decision on #" + id + " was not saved; decide it again.");
      } else if (state.decided_by === state.yours) {
        decided(card, state.decision || decision);
      } else {
        explainTaken(card);
      }
    }, () => show(unsure + " Check #" + id + " again once the connection is back."));
  }

  function setBusy(card, busy) {
    inFlight += busy ? 1 : -1;
    card.classList.toggle("busy", busy);
    if (busy) { card.dataset.busy = "1"; card.setAttribute("aria-busy", "true"); }
    else { delete card.dataset.busy; card.removeAttribute("aria-busy"); }
    card.querySelectorAll(".actions button").forEach((button) => { button.disabled = busy; });
    markKeys();
  }

  // Whether a decision key may act now: nothing is being decided, and the card it would act on
  // has been in view long enough to have been seen.
  function keysSteady() {
    return inFlight === 0 && Date.now() >= steadyFrom;
  }

  // The form says whether decision keys act now (data-keys="ready") or are held ("wait").
  function markKeys() {
    clearTimeout(steadyTimer);
    form.dataset.keys = keysSteady() ? "ready" : "wait";
    const wait = steadyFrom - Date.now();
    if (inFlight === 0 && wait > 0) steadyTimer = setTimeout(markKeys, wait);
  }

  function decide(card, decision, label) {
    if (!card || card.dataset.busy) return;
    if (!isOpen(card)) {
      const note = card.querySelector(".taken-note");
      show("#" + card.dataset.id + ": " + (note.textContent || "Being reviewed by " + card.dataset.leased + "."));
      return;
    }
    const labels = decision === "reject" ? [label || card.dataset.top] : [];
    setBusy(card, true);
    api("/queue/" + encodeURIComponent(card.dataset.id) + "/decision",
        { decision: decision, labels: labels })
      .then((result) => {
        setBusy(card, false);
        const code = errorCode(result);
        if (result.ok) decided(card, decision);
        else if (sessionEnded(result)) endSession();
        else if (result.status === 409 && (code === "already_decided" || code === "leased")) explainTaken(card);
        else if (result.status === 404 && code === "not_found") {
          countDecided([card], -1);
          markTaken(card, GONE);
        }
        else if (result.status === 503) show(UNAVAILABLE);
        else if (result.status >= 500) recheck(card, decision);
        else show(errorMessage(result, "The decision failed."));
      }, () => {
        setBusy(card, false);
        recheck(card, decision);
      });
  }

  function loadUndo() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(UNDO_KEY));
      if (saved && Array.isArray(saved.ids) && Date.now() - saved.at <= UNDO_MS) return saved;
    } catch (error) { /* storage unavailable or garbled: nothing to undo */ }
    return null;
  }

  function rememberUndo(ids, at) {
    last = { ids: ids, at: at || Date.now() };
    try { sessionStorage.setItem(UNDO_KEY, JSON.stringify(last)); } catch (error) { /* kept in memory */ }
  }

  function forgetUndo() {
    last = null;
    try { sessionStorage.removeItem(UNDO_KEY); } catch (error) { /* nothing stored */ }
  }

  function ids(list) {
    return list.map((id) => "#" + id).join(", ");
  }

  // Undone comments back on the page (or, decided on a page since reloaded, the queue loaded
  // again to show them), with `message` said once they are.
  function restore(undone, message) {
    const found = undone.map((id) => form.querySelector('.card[data-id="' + CSS.escape(id) + '"]'));
    if (found.some((card) => !card)) {
      try { sessionStorage.setItem(NOTICE_KEY, message); } catch (error) { /* no notice then */ }
      window.location.reload();
      return;
    }
    found.forEach((card) => { card.hidden = false; card.dataset.undone = "1"; });
    countDecided(found, 1);
    show(message);
    settle(found[0]);
  }

  // What undoing said, in one line: what came back, what did not and why, what to try again.
  function undoMessage(undone, refused, retry) {
    const parts = [];
    if (undone.length === 1) parts.push("Undone: #" + undone[0] + " is back in the queue");
    else if (undone.length) parts.push("Undone: " + undone.length + " decisions; " + ids(undone) + " are back in the queue");
    refused.forEach((r) => parts.push("Not undone: #" + r.id + ": " + r.message));
    if (retry.length) {
      parts.push("Undo failed for " + ids(retry) + ": no answer from the server. Press u to try again.");
    }
    return parts.join(". ").replace(/\.\./g, ".");
  }

  // Undo the last action: one decision, or each decision of a bulk one (through the undo of
  // each). Those the server did not answer stay to be tried again with u.
  function undo() {
    // The decision on its way is not yet the last one: undoing now would take back the one before.
    if (inFlight) { show("A decision is still being saved; press u again in a moment."); return; }
    if (!last || Date.now() - last.at > UNDO_MS) { forgetUndo(); show("Nothing to undo."); return; }
    if (undoing) return;
    const pending = last;
    undoing = true;
    Promise.all(pending.ids.map((id) => api("/queue/" + encodeURIComponent(id) + "/undo").then(
      (result) => ({ id: id, result: result }), () => ({ id: id, result: null }))))
      .then((outcomes) => {
        undoing = false;
        if (outcomes.some((o) => o.result && sessionEnded(o.result))) {
          rememberUndo(outcomes.filter((o) => !(o.result && o.result.ok)).map((o) => o.id), pending.at);
          endSession();
          return;
        }
        const undone = outcomes.filter((o) => o.result && o.result.ok).map((o) => o.id);
        const retry = outcomes.filter((o) => !o.result || o.result.status >= 500).map((o) => o.id);
        const refused = outcomes.filter((o) => o.result && !o.result.ok && o.result.status < 500)
          .map((o) => ({ id: o.id, message: errorMessage(o.result, "undo failed.") }));
        if (retry.length) rememberUndo(retry, pending.at); else forgetUndo();
        const message = undoMessage(undone, refused, retry);
        if (undone.length) restore(undone, message); else show(message);
      });
  }

  // The comments of a bulk decision others had taken, in one line however many they were.
  function takenSummary(taken) {
    if (taken.length === 1) return "#" + taken[0] + " was taken by another moderator.";
    const named = ids(taken.slice(0, 5));
    const rest = taken.length > 5 ? " (and " + (taken.length - 5) + " more)" : "";
    return taken.length + " were taken by other moderators: " + named + rest + ".";
  }

  function bulk(decision) {
    const selected = cards().filter((c) => checkbox(c).checked);
    if (!selected.length) { show("Select comments first (x)."); return; }
    if (inFlight) return;
    const decisions = selected.map((c) => ({
      comment_id: c.dataset.id, decision: decision,
      labels: decision === "reject" ? [c.dataset.top] : [],
    }));
    selected.forEach((card) => setBusy(card, true));
    const answered = () => selected.forEach((card) => setBusy(card, false));
    api("/queue/decisions", { decisions: decisions }).then((result) => {
      answered();
      if (sessionEnded(result)) { endSession(); return; }
      if (!result.ok) {
        show(result.status >= 500
          ? "The service is unavailable; some selected decisions may not have been saved. Reload the page to see which."
          : errorMessage(result, "The bulk decision failed; nothing was decided."));
        return;
      }
      const done = [];
      const refused = [];
      const taken = [];
      const explained = [];
      (result.data.results || []).forEach((outcome, i) => {
        const card = selected[i];
        if (!outcome.error) {
          card.hidden = true;
          checkbox(card).checked = false;
          done.push(card);
        } else if (outcome.error.code === "already_decided" || outcome.error.code === "leased") {
          checkbox(card).checked = false;
          explained.push(explainTaken(card, true));
          taken.push(card.dataset.id);
        } else {
          refused.push("#" + card.dataset.id + ": " + outcome.error.message);
        }
      });
      if (done.length) {
        worked = true;
        rememberUndo(done.map((card) => card.dataset.id));
        countDecided(done, -1);
      }
      if (taken.length) refused.unshift(takenSummary(taken));
      show(done.length + " decided" + (done.length ? " — press u to undo." : ".") +
           (refused.length ? " Not decided: " + refused.join(" ") : ""));
      // Only once the refused cards are marked taken does the page know what is left to decide.
      Promise.all(explained).then(() => settle(current && isOpen(current) ? current : null));
    }, () => {
      answered();
      show("No answer from the server: some selected decisions may have been saved. " +
           "Reload the page to see which.");
    });
  }

  function openHelp() {
    help.hidden = false;
    help.focus();
  }

  function closeHelp() {
    help.hidden = true;
    if (current) current.focus({ preventScroll: true });
  }

  // Clicking or tabbing into a card makes it the one the keys act on.
  form.addEventListener("focusin", (event) => {
    const card = event.target.closest(".card");
    if (card && card !== current) makeCurrent(card, false);
  });

  form.addEventListener("click", (event) => {
    const card = event.target.closest(".card");
    const button = event.target.closest("button");
    if (card && !card.contains(document.activeElement)) card.focus({ preventScroll: true });
    if (card && card !== current) makeCurrent(card, false);
    if (!button) return;
    event.preventDefault();
    if (sessionOver) { endSession(); return; }
    if (button.name === "bulk") { bulk(button.value); return; }
    decide(card, button.dataset.decision, button.dataset.label);
  });

  helpClose.addEventListener("click", closeHelp);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (!help.hidden) {
      // The dialog is modal: keys close it, Tab stays in it, and nothing reaches the cards behind.
      if (event.key === "Escape" || event.key === "?") { closeHelp(); event.preventDefault(); }
      else if (event.key === "Tab") { helpClose.focus(); event.preventDefault(); }
      else if (event.key.length === 1 && event.target !== helpClose) event.preventDefault();
      return;
    }
    const tag = event.target.tagName;
    if ((tag === "INPUT" && event.target.type !== "checkbox") || tag === "SELECT" || tag === "TEXTAREA") return;
    if (sessionOver) {
      if ("jkarsbxu".includes(event.key)) { endSession(); event.preventDefault(); }
      return;
    }
    const card = current && !current.hidden ? current : null;
    if ("arsb".includes(event.key) && !keysSteady()) {
      // A decision is on its way, or the card has only just appeared: the key is not for it.
      event.preventDefault();
      return;
    }
    switch (event.key) {
      case "j": { const next = nextOpen(card, 1); if (next) makeCurrent(next, true); break; }
      case "k": { const previous = nextOpen(card, -1); if (previous) makeCurrent(previous, true); break; }
      case "a": decide(card, "approve"); break;
      case "r": decide(card, "reject"); break;
      case "s": decide(card, "reject", "spam"); break;
      case "b": decide(card, "reject", "abuse"); break;
      case "x": if (card) { const box = checkbox(card); box.checked = !box.checked; } break;
      case "u": undo(); break;
      case "?": openHelp(); break;
      default: return;
    }
    event.preventDefault();
  });

  function refreshCounts() {
    if (document.hidden || sessionOver) return;
    request("GET", "/v1/sites/" + encodeURIComponent(site) + "/queue/stats").then((result) => {
      if (sessionEnded(result)) { endSession(); return; }
      if (!result.ok) return;
      const stats = result.data;
      document.getElementById("pending-count").textContent = String(stats.pending);
      document.getElementById("leased-count").textContent = String(stats.leased);
      document.getElementById("decided-count").textContent = String(stats.decisions_last_hour);
      document.getElementById("oldest-age").textContent = stats.oldest_age_seconds === null
        ? "nothing waiting" : "oldest " + stats.oldest_age_seconds + " s";
      // A page with nothing left to decide loads again once the counts show comments it lacks.
      if (!cards().some(isOpen)) {
        if (freeElsewhere()) reloadQueue(); else settle(null);
      }
    }, () => { /* the next poll tries again */ });
  }

  // Leaving the page gives back the leases on the comments it still holds, so another moderator
  // need not wait for them to run out. A beacon outlives the page; the form token comes along.
  window.addEventListener("pagehide", () => {
    const held = cards().filter((c) => c.dataset.mine && isOpen(c));
    if (!held.length || sessionOver) return;
    const body = new FormData();
    body.append("csrf_token", csrf);
    body.append("page", form.dataset.page);  // ignored once a later page of ours lists them
    held.forEach((card) => body.append("id", card.dataset.id));
    navigator.sendBeacon(form.dataset.release, body);
  });
  // A page restored from the back-forward cache gave its leases back as it was left.
  window.addEventListener("pageshow", (event) => { if (event.persisted) window.location.reload(); });
  setInterval(refreshCounts, COUNTS_MS);
  // The page arrives with the toast hidden for readers without this script; from here on it is
  // an always-present live region.
  toast.hidden = false;
  try {
    const notice = sessionStorage.getItem(NOTICE_KEY);
    sessionStorage.removeItem(NOTICE_KEY);
    if (notice) show(notice);
  } catch (error) { /* no notice */ }
  settle(nextOpen(null, 1));
  markKeys();
  // Marks the page as listening for keys: a key pressed before this point is not seen.
  form.dataset.keyboard = "ready";
})();
