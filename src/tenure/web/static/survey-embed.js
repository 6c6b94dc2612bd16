/* tenure in-app survey widget (docs/voc.md "In-app channel").
 * Embed: <script src="TENURE/embed/survey.js" async data-program="..." data-user="..."
 *          data-user-hash="..." data-first-seen="YYYY-MM-DD" data-sessions="N"></script>
 * or call window.tenureSurvey.ask({program, user, userHash, firstSeen, sessions, locale}).
 * It talks only to the origin that served this file, sends no cookie, loads nothing else and
 * builds its elements with textContent (never HTML from the network). */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.fetch) { return; }
  var base = new URL(me.src, document.baseURI).origin;

  function call(method, path, opts, body) {
    var url = base + path;
    var init = { method: method, credentials: "omit", mode: "cors" };
    if (method === "GET") {
      url += "?" + new URLSearchParams(body).toString();
    } else {
      url += "?program=" + encodeURIComponent(opts.program);
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) { return r.json(); });
  }

  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text) { e.textContent = text; }
    for (var k in (attrs || {})) { e.setAttribute(k, attrs[k]); }
    return e;
  }

  function style(e, css) { for (var k in css) { e.style[k] = css[k]; } return e; }

  function show(opts, w) {
    var who = { program: opts.program, user: opts.user, user_hash: opts.userHash };
    var box = style(el("div", null, { role: "dialog", "aria-modal": "false", "aria-labelledby": "tenure-survey-q" }), {
      position: "fixed", right: "16px", bottom: "16px", maxWidth: "min(420px, calc(100vw - 32px))", zIndex: "2147483000",
      background: "#fff", color: "#111", border: "1px solid #888", borderRadius: "8px", padding: "16px",
      font: "15px/1.4 system-ui, sans-serif", boxShadow: "0 4px 16px rgba(0,0,0,.2)"
    });
    var close = style(el("button", "\u00d7", { type: "button", "aria-label": "Close survey" }),
      { float: "right", border: "0", background: "none", fontSize: "20px", cursor: "pointer" });
    close.onclick = function () { box.remove(); };
    box.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { box.remove(); } });
    var q = el("p", w.question, { id: "tenure-survey-q" });
    var row = style(el("div", null, { role: "group", "aria-labelledby": "tenure-survey-q" }),
      { display: "flex", flexWrap: "wrap", gap: "4px" });
    var ends = style(el("div"), { display: "flex", justifyContent: "space-between", fontSize: "13px" });
    ends.appendChild(el("span", w.low));
    ends.appendChild(el("span", w.high));
    var status = el("p", null, { role: "status", "aria-live": "polite" });
    w.scale.forEach(function (n, i) {
      var label = n + (i === 0 ? " (" + w.low + ")" : i === w.scale.length - 1 ? " (" + w.high + ")" : "");
      var b = style(el("button", String(n), { type: "button", "aria-label": label }),
        { minWidth: "32px", minHeight: "32px", cursor: "pointer" });
      b.onclick = function () {
        call("POST", "/embed/v1/answer", opts, Object.assign({ token: w.token, score: n }, who)).then(function (r) {
          if (r.status !== "recorded") { status.textContent = r.detail || r.status; return; }
          row.remove(); ends.remove();
          status.textContent = w.thanks;
          comment(opts, who, box, w, r);
        }, function () { status.textContent = "Could not send your answer; please try again."; });
      };
      row.appendChild(b);
    });
    [close, q, row, ends, status].forEach(function (e) { box.appendChild(e); });
    document.body.appendChild(box);
    row.firstChild.focus();
  }

  function comment(opts, who, box, w, rec) {
    var form = el("form");
    var area = el("textarea", null, { id: "tenure-survey-c", rows: "3", maxlength: String(w.max_comment) });
    style(area, { width: "100%", boxSizing: "border-box" });
    var send = el("button", "Send", { type: "submit" });
    form.appendChild(el("label", w.follow_up, { "for": "tenure-survey-c" }));
    form.appendChild(area);
    form.appendChild(send);
    form.onsubmit = function (ev) {
      ev.preventDefault();
      call("POST", "/embed/v1/answer", opts,
        Object.assign({ response_id: rec.response_id, nonce: rec.nonce, comment: area.value }, who))
        .then(function () { box.remove(); }, function () { box.remove(); });
    };
    box.appendChild(form);
    area.focus();
  }

  function ask(opts) {
    if (!opts || !opts.program || !opts.user || !opts.userHash) { return Promise.resolve(null); }
    var q = { program: opts.program, user: opts.user, user_hash: opts.userHash,
              first_seen: opts.firstSeen || "", sessions: String(opts.sessions || 0) };
    if (opts.locale) { q.locale = opts.locale; }
    return call("GET", "/embed/v1/ask", opts, q).then(function (w) {
      if (w && w.ask) { show(opts, w); }
      return w;
    }, function () { return null; });  // refused (origin, network): the product's page goes on quietly
  }

  window.tenureSurvey = { ask: ask };
  var d = me.dataset;
  if (d.program && d.user) {
    var go = function () {
      ask({ program: d.program, user: d.user, userHash: d.userHash, firstSeen: d.firstSeen,
            sessions: d.sessions, locale: d.locale || document.documentElement.lang });
    };
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", go); } else { go(); }
  }
})();
