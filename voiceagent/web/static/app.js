// Front-desk dashboard behaviour: the live queue feed, the idle-timeout ping, and the
// flow editor's line helpers. No inline scripts (CSP), no external libraries.
(function () {
  "use strict";

  // --- live queue (server-sent events) ------------------------------------------------
  var feed = document.querySelector("[data-live-feed]");
  var seenIds = {};  // transfer id -> when its card first became visible (ms since epoch)

  function stampCards(initial) {
    var fresh = [];
    document.querySelectorAll("[data-transfer-id]").forEach(function (card) {
      var id = card.getAttribute("data-transfer-id");
      if (!(id in seenIds)) {
        seenIds[id] = Date.now();
        if (!initial) { card.classList.add("fresh"); fresh.push(card); }
      }
      card.setAttribute("data-shown-at", String(seenIds[id]));
    });
    return fresh;
  }

  function chime(emergency) {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx || !chime.ctx && !chime.allowed) { return; }
      chime.ctx = chime.ctx || new Ctx();
      var beeps = emergency ? 3 : 1;
      for (var i = 0; i < beeps; i++) {
        var osc = chime.ctx.createOscillator(), gain = chime.ctx.createGain();
        osc.frequency.value = emergency ? 988 : 660;
        gain.gain.value = 0.08;
        osc.connect(gain); gain.connect(chime.ctx.destination);
        var t = chime.ctx.currentTime + i * 0.25;
        osc.start(t); osc.stop(t + 0.15);
      }
    } catch (e) { /* sound is a nicety */ }
  }
  // Browsers only allow sound after the user interacted with the page.
  document.addEventListener("pointerdown", function () { chime.allowed = true; }, { once: true });

  function setCounts(counts) {
    document.querySelectorAll("[data-count]").forEach(function (badge) {
      var n = counts[badge.getAttribute("data-count")] || 0;
      badge.textContent = String(n);
      badge.hidden = n === 0;
    });
    var waiting = counts.new_transfers || 0;
    document.title = document.title.replace(/^\(\d+\) /, "");
    if (waiting > 0) { document.title = "(" + waiting + ") " + document.title; }
  }

  if (feed && window.EventSource) {
    var queue = document.getElementById("queue");
    var kpis = document.getElementById("kpis");
    var status = document.querySelector("[data-live-status]");
    var announce = document.querySelector("[data-announce]");
    stampCards(true);
    var source = new EventSource(feed.getAttribute("data-live-feed"));
    source.addEventListener("open", function () {
      status.textContent = "Live"; status.className = "live-status on";
    });
    source.addEventListener("queue", function (event) {
      var data = JSON.parse(event.data);
      queue.innerHTML = data.html;
      var fresh = stampCards(false);
      if (fresh.length) {
        var emergency = fresh.some(function (c) { return c.getAttribute("data-urgency") !== "routine"; });
        chime(emergency);
        announce.textContent = fresh.length === 1 ? "New call in the queue" : fresh.length + " new calls in the queue";
      }
    });
    source.addEventListener("stats", function (event) {
      var data = JSON.parse(event.data);
      kpis.innerHTML = data.html;
      setCounts(data.counts || {});
    });
    source.addEventListener("expired", function (event) {
      source.close();
      var data = JSON.parse(event.data);
      window.location.assign(data.login || "/staff/login?msg=expired");
    });
    source.addEventListener("error", function () {
      status.textContent = "Reconnecting…"; status.className = "live-status off";
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(function () { window.location.reload(); }, 3000);
      }
    });
  }

  // --- idle timeout: real use of the page keeps the session alive ---------------------
  var idleSeconds = parseInt(document.body.getAttribute("data-idle-seconds") || "0", 10);
  if (idleSeconds > 0) {
    var lastActive = 0, lastPing = Date.now();
    ["keydown", "pointerdown", "wheel", "touchstart"].forEach(function (name) {
      document.addEventListener(name, function () { lastActive = Date.now(); }, { passive: true });
    });
    var every = Math.max(5, Math.min(60, idleSeconds / 3)) * 1000;
    setInterval(function () {
      if (lastActive > lastPing) {
        lastPing = Date.now();
        fetch("/staff/session/ping", { credentials: "same-origin", redirect: "manual" })
          .then(function (r) {
            if (r.type === "opaqueredirect" || r.status === 401) {
              window.location.assign("/staff/login?msg=expired");
            }
          })
          .catch(function () { /* offline for a moment; the next ping retries */ });
      }
    }, every);
  }

  // --- flow editor -----------------------------------------------------------------------
  var editor = document.querySelector("[data-yaml-editor]");
  if (editor) {
    var gutter = document.querySelector("[data-gutter]");
    var caret = document.querySelector("[data-caret]");
    var problemLines = {};
    document.querySelectorAll("[data-goto-line]").forEach(function (a) {
      problemLines[a.getAttribute("data-goto-line")] = true;
    });
    var drawGutter = function () {
      var n = editor.value.split("\n").length, out = [];
      for (var i = 1; i <= n; i++) { out.push((problemLines[i] ? "▶ " : "") + i); }
      gutter.textContent = out.join("\n");
      gutter.scrollTop = editor.scrollTop;
    };
    var showCaret = function () {
      var before = editor.value.slice(0, editor.selectionStart).split("\n");
      caret.textContent = "Line " + before.length + ", column " + (before[before.length - 1].length + 1);
    };
    editor.addEventListener("input", drawGutter);
    editor.addEventListener("scroll", function () { gutter.scrollTop = editor.scrollTop; });
    ["keyup", "click", "select"].forEach(function (n) { editor.addEventListener(n, showCaret); });
    drawGutter();

    var goTo = function (line, column) {
      var lines = editor.value.split("\n"), pos = 0;
      for (var i = 0; i < line - 1 && i < lines.length; i++) { pos += lines[i].length + 1; }
      var len = (lines[line - 1] || "").length;
      editor.focus();
      editor.setSelectionRange(pos + Math.min(Math.max(column - 1, 0), len), pos + len);
      var lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 20;
      editor.scrollTop = Math.max(0, (line - 5) * lineHeight);
      showCaret();
    };
    document.querySelectorAll("[data-goto-line]").forEach(function (a) {
      a.addEventListener("click", function (event) {
        event.preventDefault();
        goTo(parseInt(a.getAttribute("data-goto-line"), 10), parseInt(a.getAttribute("data-goto-column") || "1", 10));
      });
    });

    var upload = document.querySelector("[data-load-into]");
    if (upload) {
      upload.addEventListener("change", function () {
        var file = upload.files && upload.files[0];
        if (!file) { return; }
        var reader = new FileReader();
        reader.onload = function () { editor.value = String(reader.result); drawGutter(); };
        reader.readAsText(file);
      });
    }
  }
})();
