// The wall's control page: plain JavaScript, no build step, nothing from the internet.
// Every request carries the token (kept in this tab's sessionStorage); pictures and the
// event stream are fetched with it too, since <img> and EventSource cannot send a header.
"use strict";

const TOKEN_KEY = "videowall.token";
const SNAPSHOT_EVERY_MS = 1000;
const $ = (id) => document.getElementById(id);

// hostOf: on a wall over several hosts, each output's host ({host, state}) as last heard;
// session: counts log-ins, so a request answered after a log-out starts nothing.
const state = {
  layout: null, cameras: [], chosen: null, streamAbort: null, timers: [], hostOf: new Map(), session: 0,
};

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function say(text, isError = false) {
  const message = $("message");
  message.textContent = text;
  message.classList.toggle("error", isError);
}

class Refused extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) { loggedOut("The wall refused the token."); throw new Refused(401, "unauthorised"); }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Refused(response.status, data.error || response.statusText);
  return data;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

// -- logging in and out ---------------------------------------------------------------

function loggedOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  stopAll();
  $("main").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = why || "";
  $("token").focus();
}

async function logIn(event) {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  try {
    await refreshLayout();
  } catch (error) {
    if (!(error instanceof Refused && error.status === 401)) $("login-error").textContent = String(error.message || error);
    return;
  }
  start();
}

function start() {
  $("login").hidden = true;
  $("main").hidden = false;
  $("logout").hidden = false;
  // Drawn while the page was hidden, the wall had no width: drawn again at its size (or its
  // screens stay invisible until the next refresh, 15 s on).
  if (state.layout) drawWall(state.layout);
  refreshCameras();
  followEvents();
  state.timers.push(setInterval(refreshCameras, 5000));
  followHosts();
  state.timers.push(setInterval(refreshLayout, 15000));
}

function stopAll() {
  state.session += 1;
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
  state.hostOf = new Map();
  $("hosts-section").hidden = true;
  $("hosts").replaceChildren();
  if (state.streamAbort) state.streamAbort.abort();
  state.streamAbort = null;
  for (const image of document.querySelectorAll(".output img")) image.dataset.stop = "1";
  $("wall").replaceChildren();
}

// -- the wall ---------------------------------------------------------------------------

async function refreshLayout() {
  const layout = await api("GET", "/api/layout");
  state.layout = layout;
  drawWall(layout);
  drawPresets(layout);
  drawAlarms(layout);
  return layout;
}

function drawWall(layout) {
  const wall = $("wall");
  const [wallWidth, wallHeight] = layout.wall.size;
  const scale = wall.clientWidth / wallWidth;
  wall.style.height = `${Math.round(wallHeight * scale)}px`;
  const kept = new Map([...wall.querySelectorAll(".output")].map((node) => [node.dataset.output, node]));
  for (const output of layout.outputs) {
    let node = kept.get(output.id);
    kept.delete(output.id);
    if (!node) {
      node = element("div", { class: "output", "data-output": output.id });
      const image = element("img", { alt: `what ${output.id} shows` });
      node.append(image, element("span", { class: "label" }));
      wall.append(node);
      if (output.shown) refreshSnapshot(output.id, image);
    }
    const [x, y, w, h] = output.place;
    Object.assign(node.style, {
      left: `${x * scale}px`, top: `${y * scale}px`, width: `${w * scale}px`, height: `${h * scale}px`,
    });
    node.classList.toggle("solo", Boolean(output.solo));
    node.classList.toggle("absent", !output.shown);
    node.querySelector(".label").textContent = outputLabel(output);
    for (const old of node.querySelectorAll(".tile")) old.remove();
    if (!output.shown) continue;
    const sx = (w * scale) / output.size[0];
    const sy = (h * scale) / output.size[1];
    for (const tile of output.tiles) {
      const [tx, ty, tw, th] = tile.rect;
      const button = element("button", {
        class: "tile", type: "button", title: `${tile.tile}: ${tile.shows}`,
        "data-tile": tile.tile,
      });
      button.classList.toggle("callup", Boolean(tile.callup));
      button.classList.toggle("alarm", Boolean(tile.alarm));
      Object.assign(button.style, {
        left: `${tx * sx}px`, top: `${ty * sy}px`, width: `${tw * sx}px`, height: `${th * sy}px`,
      });
      button.addEventListener("click", () => openTile(output, tile));
      node.append(button);
    }
  }
  for (const gone of kept.values()) { gone.querySelector("img").dataset.stop = "1"; gone.remove(); }
}

// One picture at a time per screen, about once a second: a slow wall is never asked twice.
async function refreshSnapshot(outputId, image) {
  while (!image.dataset.stop && token()) {
    const started = performance.now();
    try {
      const width = Math.max(160, Math.round(image.clientWidth * (window.devicePixelRatio || 1)));
      const response = await fetch(`/api/outputs/${encodeURIComponent(outputId)}/snapshot.jpg?width=${width}`, {
        headers: { Authorization: `Bearer ${token()}` },
      });
      if (response.status === 401) { loggedOut("The wall refused the token."); return; }
      if (response.ok) {
        const url = URL.createObjectURL(await response.blob());
        const previous = image.src;
        image.src = url;
        image.dataset.updated = String(Date.now());
        if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
      }
    } catch (error) { /* the wall restarting: try again */ }
    const spent = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, Math.max(200, SNAPSHOT_EVERY_MS - spent)));
  }
}

// -- a tile: call a camera up, solo, give back ------------------------------------------

function openTile(output, tile) {
  state.chosen = { output, tile };
  $("tile-title").textContent = `${tile.tile} (screen ${output.id}, tile ${tile.number})`;
  const notes = [`shows ${tile.shows}`];
  if (tile.callup) notes.push("called up");
  if (tile.alarm) notes.push(`alarm ${tile.alarm}`);
  if (output.solo) notes.push(`the screen shows ${output.solo} alone`);
  $("tile-shows").textContent = notes.join(" · ");
  $("clear-callup").hidden = !tile.callup;
  $("clear-solo").hidden = !output.solo;
  $("as-solo").checked = false;
  $("camera-search").value = "";
  drawChoices();
  $("tile-dialog").showModal();
  $("camera-search").focus();
}

function drawChoices() {
  const wanted = $("camera-search").value.trim().toLowerCase();
  const list = $("camera-choices");
  list.replaceChildren();
  const cameras = (state.layout ? state.layout.cameras : []).filter(
    (camera) => !wanted || camera.id.toLowerCase().includes(wanted) || camera.name.toLowerCase().includes(wanted));
  for (const camera of cameras.slice(0, 50)) {
    const button = element("button", { type: "button", "data-camera": camera.id },
      `${camera.id} · ${camera.name}`);
    button.addEventListener("click", () => chooseCamera(camera.id));
    list.append(element("li", {}, button));
  }
}

async function chooseCamera(cameraId) {
  const { output, tile } = state.chosen;
  $("tile-dialog").close();
  try {
    const reply = $("as-solo").checked
      ? await api("POST", `/api/outputs/${encodeURIComponent(output.id)}/solo`, { camera: cameraId })
      : await api("PUT", `/api/outputs/${encodeURIComponent(output.id)}/tiles/${tile.number}`, { camera: cameraId });
    say(reply.message || "done");
  } catch (error) { say(error.message, true); }
  refreshLayout().catch(() => {});
}

async function clearCallUp() {
  const { output, tile } = state.chosen;
  $("tile-dialog").close();
  try {
    say((await api("DELETE", `/api/outputs/${encodeURIComponent(output.id)}/tiles/${tile.number}`)).message);
  } catch (error) { say(error.message, true); }
  refreshLayout().catch(() => {});
}

async function clearSolo() {
  const { output } = state.chosen;
  $("tile-dialog").close();
  try {
    say((await api("DELETE", `/api/outputs/${encodeURIComponent(output.id)}/solo`)).message);
  } catch (error) { say(error.message, true); }
  refreshLayout().catch(() => {});
}

// -- presets, alarms, cameras -------------------------------------------------------------

function drawPresets(layout) {
  $("preset-now").textContent = layout.preset ? `preset ${layout.preset}` : "the layout as written";
  const box = $("presets");
  box.replaceChildren();
  for (const name of [null, ...layout.presets]) {
    const button = element("button", { type: "button", "data-preset": name || "default" }, name || "layout as written");
    button.classList.toggle("active", layout.preset === name);
    button.addEventListener("click", async () => {
      try { say((await api("POST", `/api/presets/${encodeURIComponent(name || "default")}`)).message); } catch (error) { say(error.message, true); }
      refreshLayout().catch(() => {});
    });
    box.append(button);
  }
}

function drawAlarms(layout) {
  $("alarm-tiles").textContent = layout.alarm_tiles.length
    ? `alarm tiles: ${layout.alarm_tiles.join(", ")}` : "this layout has no alarm tiles";
  const list = $("alarms");
  list.replaceChildren();
  for (const alarm of layout.alarms) {
    const clear = element("button", { type: "button", "data-alarm": alarm.id }, "clear");
    clear.addEventListener("click", async () => {
      try { say((await api("DELETE", `/api/alarms/${encodeURIComponent(alarm.id)}`)).message); } catch (error) { say(error.message, true); }
      refreshLayout().catch(() => {});
    });
    const where = alarm.tile ? `on ${alarm.tile}` : "waiting";
    const what = element("span", { class: "what" },
      `P${alarm.priority} ${alarm.camera} ${where}${alarm.title ? ` · ${alarm.title}` : ""}`);
    const item = element("li", { class: alarm.tile ? "shown" : "waiting" }, what, clear);
    list.append(item);
  }
  if (!layout.alarms.length) list.append(element("li", { class: "hint" }, "no alarm"));
}

async function refreshCameras() {
  try {
    const reply = await api("GET", "/api/cameras");
    state.cameras = reply.cameras;
  } catch (error) { return; }
  const body = $("cameras").querySelector("tbody");
  body.replaceChildren();
  for (const camera of state.cameras) {
    const quality = camera.state === "live" ? "live" : camera.state === "idle" ? "idle" : "bad";
    const state_ = element("td", { class: `state-${quality}` },
      camera.state + (camera.reason && camera.state !== "live" ? ` (${camera.reason})` : ""));
    body.append(element("tr", { "data-camera": camera.id },
      element("td", { title: camera.name }, `${camera.id} · ${camera.name}`), state_,
      element("td", {}, camera.shown_on.join(", "))));
  }
}

// -- a wall over several hosts: each host's health, and whose screens are whose ------------

// Only a wall over several hosts has /api/hosts (its status says so): a wall alone is
// never asked, so its page has no failed request.
async function followHosts() {
  const session = state.session;
  let status;
  try {
    status = await api("GET", "/api/status");
  } catch (error) { return; }
  if (!status.cluster || session !== state.session) return;  // alone, or logged out meanwhile
  refreshHosts();
  state.timers.push(setInterval(refreshHosts, 2000));
}

// An output's label: its id, its solo, and on a wall over several hosts, for an output
// another host shows, that host and its state (kept across the layout's redraws).
function outputLabel(output) {
  if (output.solo) return `${output.id} · solo ${output.solo}`;
  const host = output.shown ? undefined : state.hostOf.get(output.id);
  return host ? `${output.id} · ${host.host}: ${host.state}` : output.id;
}

async function refreshHosts() {
  const session = state.session;
  let reply;
  try {
    reply = await api("GET", "/api/hosts");
  } catch (error) { return; }
  if (session !== state.session) return;  // logged out while it was asked
  $("hosts-section").hidden = false;
  const list = $("hosts");
  list.replaceChildren();
  const hostOf = new Map();
  for (const host of reply.hosts) {
    for (const output of host.outputs || []) hostOf.set(output, { host: host.host, state: host.state });
    const quality = host.state === "online" ? "live" : "bad";
    const parts = [`${host.host}${host.this_host ? " (this one)" : ""}`, host.state];
    if (host.cameras !== undefined) {
      parts.push(`${host.outputs_up}/${host.outputs.length} outputs`,
        `${host.cameras_live}/${host.cameras} cameras live`);
    }
    if (host.clock_offset_ms !== null && host.clock_offset_ms !== undefined && !host.this_host) {
      parts.push(`clock ${host.clock_offset_ms >= 0 ? "+" : ""}${host.clock_offset_ms} ms`);
    }
    if (host.layout && host.layout !== reply.layout) parts.push(`layout ${host.layout} differs`);
    list.append(element("li", { class: `state-${quality}` }, parts.join(" · ")));
  }
  state.hostOf = hostOf;
  if (state.layout) drawLabels(state.layout);
}

function drawLabels(layout) {
  for (const output of layout.outputs) {
    const node = document.querySelector(`.output[data-output="${CSS.escape(output.id)}"] .label`);
    if (node) node.textContent = outputLabel(output);
  }
}

// -- the event stream: what changed, as it changes ----------------------------------------

async function followEvents() {
  const abort = new AbortController();
  state.streamAbort = abort;
  let last = null;
  while (!abort.signal.aborted && token()) {
    try {
      const headers = { Authorization: `Bearer ${token()}` };
      if (last !== null) headers["Last-Event-ID"] = last;
      const response = await fetch("/api/events", { headers, signal: abort.signal });
      if (response.status === 401) { loggedOut("The wall refused the token."); return; }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = {};
          for (const line of block.split("\n")) {
            const colon = line.indexOf(":");
            if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
          }
          if (fields.id) last = fields.id;
          if (fields.event) onEvent(fields.event);
        }
      }
    } catch (error) { if (abort.signal.aborted) return; }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

let layoutSoon = null;
function onEvent(kind) {
  if (kind === "camera") { refreshCameras(); return; }
  // Several changes at once (a preset clears call-ups): one refresh.
  clearTimeout(layoutSoon);
  layoutSoon = setTimeout(() => { refreshLayout().catch(() => {}); refreshCameras(); }, 150);
}

// -- wiring -----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", logIn);
  $("logout").addEventListener("click", () => loggedOut(""));
  $("camera-search").addEventListener("input", drawChoices);
  $("clear-callup").addEventListener("click", clearCallUp);
  $("clear-solo").addEventListener("click", clearSolo);
  window.addEventListener("resize", () => { if (state.layout) drawWall(state.layout); });
  if (token()) {
    refreshLayout().then(start).catch((error) => {
      if (!(error instanceof Refused && error.status === 401)) loggedOut(String(error.message || error));
    });
  } else {
    loggedOut("");
  }
});
