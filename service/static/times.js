// Every <time datetime="..."> on the page in the reader's local time, as a person writes it
// ("14:05" today, "12 Mar 2026, 14:05" on other days); the exact UTC value stays in the title.
(function () {
  "use strict";

  function readable(at) {
    const today = new Date();
    const sameDay = at.toDateString() === today.toDateString();
    const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return sameDay ? time : at.toLocaleDateString([], { day: "numeric", month: "short", year: "numeric" }) + ", " + time;
  }

  document.querySelectorAll("time[datetime]").forEach((element) => {
    const iso = element.getAttribute("datetime");
    const at = new Date(iso);
    if (!iso || isNaN(at)) return;
    element.textContent = readable(at);
    element.title = iso;
  });
})();
