// Live updates for the control room: one EventSource on the controller's /api/events stream; redraws the
// map landing, the incident list, the queue and the sensor and blocking lists from server-rendered fragments,
// and announces new incidents.
(() => {
  "use strict";
  const url = document.body.dataset.live;
  if (!url) return;
  const state = document.getElementById("stream-state");
  const announcer = document.getElementById("announcer");

  // One fetch at a time per target; an event arriving meanwhile asks for one more afterwards.
  const refreshers = new Map();
  function refresh(key, fetchUrl, apply) {
    const r = refreshers.get(key) || { busy: false, again: false };
    refreshers.set(key, r);
    if (r.busy) { r.again = true; return; }
    r.busy = true;
    fetch(fetchUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then((res) => (res.ok ? res.text() : Promise.reject(res.status)))
      .then(apply)
      .catch(() => {})
      .finally(() => {
        r.busy = false;
        if (r.again) { r.again = false; refresh(key, fetchUrl, apply); }
      });
  }

  function redrawMap() {
    const map = document.getElementById("map");
    if (!map) return;
    const wing = map.dataset.wing ? "?wing=" + encodeURIComponent(map.dataset.wing) : "";
    refresh("map", "/map/landing/" + map.dataset.landing + wing, (html) => { map.innerHTML = html; });
  }

  function redrawQueue() {
    const rows = document.getElementById("incident-rows");
    if (rows && rows.dataset.refresh) refresh("rows", rows.dataset.refresh, (html) => { rows.innerHTML = html; });
  }

  function redrawAlerts() {
    const panel = document.getElementById("alerts-panel");
    if (panel) refresh("alerts", panel.dataset.refresh, (html) => { panel.innerHTML = html; });
  }

  function redrawEquipment() {
    const panel = document.getElementById("equipment-panel");
    if (panel) refresh("equipment", panel.dataset.refresh, (html) => { panel.innerHTML = html; });
  }

  // A sensor's health or the blocking state changed: its marks on the map and the side lists.
  function onEquipment() {
    redrawMap();
    redrawEquipment();
  }

  function onAlert(message) {
    const event = JSON.parse(message.data);
    // A new incident is already announced by its own event; say only what that does not.
    const urgent = ["critical", "high"].includes(event.after.severity) && event.after.rule !== "new_incident";
    if (event.type === "new" && announcer && urgent) {
      announcer.textContent = "Alert: " + event.after.message;
    }
    redrawAlerts();
  }

  function describe(incident) {
    const where = incident.cell_id ? "cell " + incident.cell_id : "an unresolved place";
    const ops = (incident.operators || []).join("/") || "unknown operator";
    return incident.technology.toUpperCase() + " " + ops + " in " + where;
  }

  function updateList(event) {
    const list = document.getElementById("open-incidents");
    if (!list) return;
    const incident = event.after;
    let item = list.querySelector('[data-incident="' + CSS.escape(event.id) + '"]');
    if (event.type === "end" || incident.suppressed) {
      if (item) item.remove();
    } else {
      if (!item) {
        item = document.createElement("li");
        item.dataset.incident = event.id;
        list.prepend(item);
        const empty = list.querySelector(".empty");
        if (empty) empty.remove();
      }
      item.textContent = "";
      const link = document.createElement("a");
      link.href = "/incidents/" + event.id;
      link.textContent = (incident.cell_id || "unresolved") + " — " + incident.technology.toUpperCase() + " " +
        (incident.operators || []).join("/");
      const status = document.createElement("span");
      status.className = "status";
      status.textContent = " " + incident.status;
      item.append(link, status);
    }
    const count = document.getElementById("open-count");
    if (count) count.textContent = String(list.querySelectorAll("[data-incident]").length);
  }

  function onIncident(message) {
    const event = JSON.parse(message.data);
    if (event.type === "new" && !event.after.suppressed && announcer) {
      announcer.textContent = "New incident: " + describe(event.after);
    }
    updateList(event);
    redrawMap();
    redrawQueue();
  }

  function connect() {
    const source = new EventSource(url);
    source.addEventListener("open", () => { if (state) state.textContent = "live: connected"; });
    source.addEventListener("error", () => { if (state) state.textContent = "live: reconnecting…"; });
    source.addEventListener("incident", onIncident);
    source.addEventListener("alert", onAlert);
    source.addEventListener("sensors", onEquipment);
    source.addEventListener("blocking", onEquipment);
  }

  // Keep the "NOW" marks honest when nothing new arrives: a cell goes quiet after its live window (no event
  // says so). Sensors and blocking come as events.
  setInterval(redrawMap, 30000);

  document.addEventListener("click", (e) => {
    const link = e.target.closest("[data-landing-link]");
    const map = document.getElementById("map");
    if (!link || !map) return;
    map.dataset.landing = link.dataset.landingLink;
    document.getElementById("landing-number").textContent = link.dataset.landingLink;
    document.querySelectorAll("[data-landing-link]").forEach((other) => {
      const on = other === link;
      other.classList.toggle("selected", on);
      if (on) other.setAttribute("aria-current", "true"); else other.removeAttribute("aria-current");
    });
    const wing = map.dataset.wing ? "&wing=" + encodeURIComponent(map.dataset.wing) : "";
    history.replaceState(null, "", "/map?landing=" + link.dataset.landingLink + wing);
    document.querySelectorAll("[data-wing-link]").forEach((w) => {
      w.href = "/map?landing=" + link.dataset.landingLink + "&wing=" + encodeURIComponent(w.dataset.wingLink);
    });
  });

  connect();
})();
