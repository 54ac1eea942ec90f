// The chat page: renders a thread, sends lines and button presses, and follows the thread live over
// server-sent events. No framework and no build step: the page must work from the package as is.
"use strict";

(() => {
  const root = document.getElementById("chat");
  if (!root) return;
  const threadId = root.dataset.thread;
  const csrf = root.dataset.csrf;
  const list = document.getElementById("messages");
  const jobsBox = document.getElementById("jobs");
  const treeBox = document.getElementById("tree");
  const errorBox = document.getElementById("error");
  const live = document.getElementById("live");
  const seen = new Set();
  const clipMessages = new Map(); // clip id -> message id
  let lastId = 0;
  let treeTimer = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Core texts mark ids with backticks: show them as code.
  function richText(text) {
    const span = el("span", { class: "text" });
    String(text).split(/(`[^`]+`)/).forEach((part) => {
      if (part.startsWith("`") && part.endsWith("`") && part.length > 2) span.append(el("code", {}, part.slice(1, -1)));
      else span.append(document.createTextNode(part));
    });
    return span;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error((await response.text()) || response.statusText);
    return response.json();
  }

  async function clipAction(clipId, action, prompt) {
    showError("");
    try {
      await post(`/api/threads/${threadId}/clips/${clipId}/${action}`, { prompt: prompt || "" });
    } catch (err) {
      showError(err.message);
    }
  }

  function clipBody(m) {
    const box = el("div", { class: "clip", "data-clip": m.clip_id });
    if (m.deleted || !m.media_url) {
      box.append(el("p", { class: "muted" }, "this clip was deleted"));
      return box;
    }
    box.append(el("video", { controls: true, playsinline: true, preload: "metadata", src: m.media_url }));
    const payload = m.payload || {};
    const meta = el("p", { class: "muted clip-meta" }, el("code", {}, m.clip_id));
    if (payload.parent_clip_id) meta.append(" from ", el("code", {}, payload.parent_clip_id));
    if (payload.seconds) meta.append(` · ${Number(payload.seconds).toFixed(1)} s · ${payload.width}×${payload.height}`);
    box.append(meta);
    const input = el("input", { class: "reply-input", placeholder: "reply to remix: make it blue", maxlength: 2000 });
    const reply = el(
      "form",
      {
        class: "reply",
        onsubmit: async (event) => {
          event.preventDefault();
          const text = input.value.trim();
          if (!text) return;
          showError("");
          input.value = "";
          try {
            await post(`/api/threads/${threadId}/messages`, { text, reply_to: m.id });
          } catch (err) {
            if (!input.value) input.value = text;
            showError(err.message);
          }
        },
      },
      input,
      el("button", { type: "submit", class: "remix-send" }, "Remix"),
    );
    const actions = el(
      "div",
      { class: "actions" },
      el("button", { type: "button", class: "remix", onclick: () => input.focus() }, "Remix"),
      el("button", { type: "button", class: "extend", onclick: () => clipAction(m.clip_id, "extend") }, "Extend"),
      el("button", { type: "button", class: "reroll", onclick: () => clipAction(m.clip_id, "reroll") }, "Reroll"),
      el("button", {
        type: "button",
        class: "delete",
        onclick: () => { if (confirm("Delete this clip everywhere it was posted?")) clipAction(m.clip_id, "delete"); },
      }, "Delete"),
    );
    box.append(actions, reply);
    return box;
  }

  function addMessage(m) {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    lastId = Math.max(lastId, m.id);
    const classes = ["msg", m.kind];
    if (!m.ok) classes.push("refused");
    const when = new Date(m.created_at);
    const item = el(
      "li",
      { class: classes.join(" "), id: `m${m.id}`, "data-id": m.id, "data-kind": m.kind },
      el("div", { class: "head" }, el("b", {}, m.author || "someone"), " ",
        el("time", { datetime: m.created_at }, isNaN(when) ? "" : when.toLocaleTimeString())),
      richText(m.text),
    );
    if (m.kind === "text" && m.reply_to && document.querySelector(`#m${m.reply_to}.clip`)) {
      const clipId = document.querySelector(`#m${m.reply_to} .clip`).dataset.clip;
      item.querySelector(".head").append(" ↪ remix of ", el("a", { href: `#m${m.reply_to}` }, el("code", {}, clipId)));
    }
    const buttons = (m.payload && m.payload.buttons) || [];
    if (m.kind === "notice" && m.clip_id && buttons.includes("delete")) {
      item.append(el("div", { class: "actions" }, el("button", {
        type: "button",
        class: "delete",
        onclick: () => { if (confirm("Delete this clip everywhere it was posted?")) clipAction(m.clip_id, "delete"); },
      }, `Delete ${m.clip_id}`)));
    }
    if (m.kind === "clip") {
      clipMessages.set(m.clip_id, m.id);
      item.append(clipBody(m));
      const box = jobsBox.querySelector(`[data-job="${m.job_id}"]`);
      if (box) box.remove();
      scheduleTree();
    }
    // Keep id order even when a live event and the backlog cross.
    const after = [...list.children].find((li) => Number(li.dataset.id) > m.id);
    list.insertBefore(item, after || null);
    if (!after) item.scrollIntoView({ block: "end" });
  }

  function jobText(j) {
    const eta = j.eta ? `, about ${Math.max(1, Math.round(j.eta))} s` : "";
    switch (j.state) {
      case "queued": return `queued — position ${j.position || "?"}${eta}`;
      case "running": return j.total ? `${j.stage || "generating"} — step ${j.step}/${j.total}${eta}` : "starting";
      case "encoding": return "encoding";
      case "done": return "done";
      default: return `${j.state}: ${j.reason || ""}`;
    }
  }

  function updateJob(j) {
    let box = jobsBox.querySelector(`[data-job="${j.job_id}"]`);
    if (j.state === "done" && j.clip_id && clipMessages.has(j.clip_id)) {
      if (box) box.remove();
      return;
    }
    if (!box) {
      box = el("div", { class: "job", "data-job": j.job_id },
        el("code", {}, j.job_id), " ", el("span", { class: "job-text" }), el("progress", { max: 1, value: 0 }));
      jobsBox.append(box);
    }
    box.dataset.state = j.state;
    box.querySelector(".job-text").textContent = jobText(j);
    const bar = box.querySelector("progress");
    if (j.state === "running" && j.total) {
      bar.max = j.total;
      bar.value = j.step;
    } else if (j.state === "encoding" || j.state === "done") {
      bar.max = 1;
      bar.value = 1;
    } else if (j.state === "queued") {
      bar.removeAttribute("value");
    }
    if (j.state === "failed" || j.state === "cancelled") setTimeout(() => box.remove(), 8000);
  }

  function treeList(nodes) {
    const ul = el("ul");
    for (const node of nodes) {
      const label = node.deleted ? "(deleted)" : node.prompt;
      const id = el("code", {}, node.clip_id);
      const target = clipMessages.get(node.clip_id);
      const li = el("li", { "data-clip": node.clip_id },
        target ? el("a", { href: `#m${target}` }, id) : id,
        ` ${node.author} ${node.verb}: `, el("span", { class: "prompt" }, label));
      if (node.children.length) li.append(treeList(node.children));
      ul.append(li);
    }
    return ul;
  }

  async function refreshTree() {
    const response = await fetch(`/api/threads/${threadId}/tree`, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    treeBox.replaceChildren(data.trees.length ? treeList(data.trees) : el("p", { class: "muted" }, "No clips yet."));
  }

  function scheduleTree() {
    clearTimeout(treeTimer);
    treeTimer = setTimeout(refreshTree, 150);
  }

  function markDeleted(clipId) {
    const id = clipMessages.get(clipId);
    const box = id && document.querySelector(`#m${id} .clip`);
    if (box) box.replaceChildren(el("p", { class: "muted" }, "this clip was deleted"));
    scheduleTree();
  }

  function follow() {
    const source = new EventSource(`/api/threads/${threadId}/events?after=${lastId}`);
    source.addEventListener("open", () => live.classList.add("on"));
    source.addEventListener("error", () => live.classList.remove("on"));
    source.addEventListener("message", (event) => addMessage(JSON.parse(event.data).message));
    source.addEventListener("job", (event) => updateJob(JSON.parse(event.data)));
    source.addEventListener("clip_deleted", (event) => markDeleted(JSON.parse(event.data).clip_id));
  }

  async function load() {
    const response = await fetch(`/api/threads/${threadId}`, { credentials: "same-origin" });
    if (response.status === 401) {
      location.href = `/signin?next=${encodeURIComponent(location.pathname)}`;
      return;
    }
    const data = await response.json();
    data.messages.forEach(addMessage);
    data.jobs.forEach(updateJob);
    refreshTree();
    follow();
  }

  const form = document.getElementById("compose");
  const text = document.getElementById("text");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    showError("");
    // Clear at once: whatever is typed while this is on its way is the next message, not this one.
    text.value = "";
    try {
      await post(`/api/threads/${threadId}/messages`, { text: value });
    } catch (err) {
      if (!text.value) text.value = value;
      showError(err.message);
    }
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  load();
})();
