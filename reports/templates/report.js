(function () {
  "use strict";
  var PAGE = 200;
  var data = JSON.parse(document.getElementById("ccme-data").textContent);
  var rules = data.rules, all = data.findings;
  var body = document.querySelector("#findings tbody");
  var more = document.getElementById("more");
  var count = document.getElementById("count");
  var controls = {status: "f-status", severity: "f-severity", area: "f-area", q: "f-q"};
  var state = {status: "problems", severity: "all", area: "all", q: "", open: ""};
  var matches = [], shown = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    Object.keys(state).forEach(function (k) {
      var v = params.get(k);
      state[k] = v === null ? (k === "status" ? "problems" : (k === "q" || k === "open" ? "" : "all")) : v;
    });
    Object.keys(controls).forEach(function (k) { document.getElementById(controls[k]).value = state[k]; });
  }
  function writeHash() {
    var params = new URLSearchParams();
    Object.keys(state).forEach(function (k) { if (state[k] && state[k] !== "all") { params.set(k, state[k]); } });
    history.replaceState(null, "", "#" + params.toString());
  }
  function keep(f) {
    if (state.status === "problems") { if (f.s !== "FAIL" && f.s !== "ERROR") { return false; } }
    else if (state.status !== "all" && f.s !== state.status) { return false; }
    if (state.severity !== "all" && f.v !== state.severity) { return false; }
    if (state.area !== "all" && f.a !== state.area) { return false; }
    if (state.q) {
      var q = state.q.toLowerCase();
      var hay = (f.x + " " + (f.n || "") + " " + f.r).toLowerCase();
      if (hay.indexOf(q) < 0) { return false; }
    }
    return true;
  }
  function copy(text, button) {
    function done() { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else { fallback(); }
    function fallback() {
      var area = el("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); done(); } catch (e) { button.textContent = "Select and copy"; }
      document.body.removeChild(area);
    }
  }
  function docLink(id) {
    // The rule's documentation: docs/rules.md#ID (relative) or an http(s) URL; anything else is not a link.
    var h = (rules[id] || {}).k;
    return (typeof h === "string" && (/^https?:\/\//.test(h) || /^docs\/rules\.md#/.test(h))) ? h : "";
  }
  function detail(f) {
    var row = el("tr", "detail"), cell = el("td");
    cell.colSpan = 6;
    row.dataset.id = f.i;
    var box = el("div", "detail");
    if (f.t) { box.appendChild(el("h3", null, f.t)); }
    box.appendChild(el("p", null, f.m));
    var src = rules[f.r] || {};
    box.appendChild(el("h3", null, "Requirement"));
    box.appendChild(el("p", null, src.doc + (src.sec ? ", " + src.sec : "")));
    if (src.q) { box.appendChild(el("blockquote", null, src.q)); }
    if (src.u && /^https:\/\//.test(src.u)) {
      var a = el("a", null, src.u); a.href = src.u; a.rel = "noopener noreferrer"; box.appendChild(a);
    }
    if (src.d) { box.appendChild(el("p", "muted", src.d)); }
    if (docLink(f.r)) {
      var docp = el("p", null, "Documentation: "), doca = el("a", null, f.r);
      doca.href = docLink(f.r); doca.rel = "noopener noreferrer"; docp.appendChild(doca); box.appendChild(docp);
    }
    if (f.n) { box.appendChild(el("p", null, "Name: " + f.n)); }
    if (f.l) { box.appendChild(el("p", null, "Location: " + f.l)); }
    if (f.w) { box.appendChild(el("p", null, "Waived: " + f.w)); }
    if (f.h) { box.appendChild(el("p", null, "History: " + f.h)); }
    if (f.c) { box.appendChild(el("p", null, "Who changed it (CloudTrail): " + f.c)); }
    box.appendChild(el("h3", null, "Observed evidence"));
    box.appendChild(el("pre", "evidence", (f.e && f.e.length) ? f.e.join("\n") : "(none recorded)"));
    if (f.f) {
      var head = el("h3", null, "Remediation (AWS CLI) ");
      var button = el("button", "copy", "Copy");
      button.type = "button";
      button.addEventListener("click", function (ev) { ev.stopPropagation(); copy(f.f, button); });
      head.appendChild(button);
      box.appendChild(head);
      box.appendChild(el("pre", "fix", f.f));
    }
    cell.appendChild(box); row.appendChild(cell);
    return row;
  }
  function toggle(row, f) {
    var next = row.nextSibling;
    if (next && next.className === "detail") { body.removeChild(next); if (state.open === f.i) { state.open = ""; } }
    else { body.insertBefore(detail(f), next); state.open = f.i; }
    writeHash();
  }
  function addRow(f) {
    var tr = el("tr", "row");
    tr.dataset.id = f.i; tr.dataset.status = f.s;
    var st = el("td"); st.appendChild(el("span", "badge " + f.s, f.s)); tr.appendChild(st);
    tr.appendChild(el("td", "sev-" + f.v, f.v));
    var rid = el("td", "rid"), doc = docLink(f.r);
    if (doc) {
      var link = el("a", null, f.r); link.href = doc; link.rel = "noopener noreferrer";
      link.addEventListener("click", function (ev) { ev.stopPropagation(); });
      rid.appendChild(link);
    } else { rid.textContent = f.r; }
    tr.appendChild(rid);
    tr.appendChild(el("td", "res", f.x));
    tr.appendChild(el("td", null, f.g));
    tr.appendChild(el("td", null, f.m));
    tr.addEventListener("click", function () { toggle(tr, f); });
    body.appendChild(tr);
    if (state.open && state.open === f.i) { body.appendChild(detail(f)); }
  }
  function page() {
    var end = Math.min(shown + PAGE, matches.length);
    var frag = body;
    for (var i = shown; i < end; i++) { addRow(matches[i]); }
    shown = end;
    more.hidden = shown >= matches.length;
    more.textContent = "Show " + Math.min(PAGE, matches.length - shown) + " more";
    count.textContent = shown + " of " + matches.length + " matching findings shown (" + all.length + " in total)";
    return frag;
  }
  function apply() {
    matches = all.filter(keep);
    if (state.open) {
      var at = -1;
      for (var i = 0; i < matches.length; i++) { if (matches[i].i === state.open) { at = i; break; } }
      if (at >= PAGE) { matches.unshift(matches.splice(at, 1)[0]); }
    }
    body.textContent = "";
    shown = 0;
    page();
    document.body.dataset.ready = "1";
  }
  Object.keys(controls).forEach(function (k) {
    var node = document.getElementById(controls[k]);
    node.addEventListener(k === "q" ? "input" : "change", function () { state[k] = node.value; writeHash(); apply(); });
  });
  more.addEventListener("click", page);
  window.addEventListener("hashchange", function () { readHash(); apply(); });
  readHash();
  apply();
})();
