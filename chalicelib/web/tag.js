(function (w, d, n) {
  var s = d.currentScript, site = s && s.getAttribute("data-site");
  if (!site || w.sodate && w.sodate.loaded) return;
  var api = s.src.replace(/\/tag\.js([?#].*)?$/, ""), K = "sodate_vid",
    q = (w.sodate && w.sodate.q) || [],
    optout = n.globalPrivacyControl || n.doNotTrack == "1" || w.doNotTrack == "1",
    cm = s.getAttribute("data-consent") == "required", ask = cm, last, fl,
    link = (location.search.match(/[?&]sodate_t=([^&#]+)/) || [])[1];
  if (link) try { history.replaceState(history.state, "", location.href.replace(/[?&]sodate_t=[^&#]*/, "")); } catch (e) {}
  function vid() {
    if (optout) return null;
    try {
      var ls = w.localStorage, v = ls.getItem(K);
      if (!v && !ask) {
        v = [].map.call(crypto.getRandomValues(new Uint8Array(12)), function (b) {
          return (b + 256).toString(16).slice(1);
        }).join("");
        ls.setItem(K, v);
      }
      return v;
    } catch (e) { return null; }
  }
  function send(k, name, props, amount) {
    var b = { site: site, k: k, u: location.href, t: d.title, r: d.referrer,
      s: screen.width + "x" + screen.height }, v = vid(), j;
    if (v) b.v = v;
    if (v && cm) b.c = 1;
    if (v && link) { b.i = link; link = 0; }
    if (name) b.n = name;
    if (props) b.p = props;
    if (amount != null) b.a = amount;
    j = JSON.stringify(b);
    if (!(n.sendBeacon && n.sendBeacon(api + "/t", j))) new Image().src = api + "/t.gif?d=" + encodeURIComponent(j);
  }
  function view() { if (location.href != last) { last = location.href; send("pageview"); } }
  var api_ = w.sodate = {
    loaded: 1,
    event: function (name, props) { send("event", name, props); },
    conversion: function (name, props, amount) { send("conversion", name, props, amount); },
    consent: function () { ask = 0; vid(); },
    visitor: vid,
    site: site,
    form: function () {
      (w.sodate_forms = w.sodate_forms || []).push(arguments);
      if (w.sodate_form) w.sodate_form();
      else if (!fl) (fl = d.head.appendChild(d.createElement("script"))).src = (s.getAttribute("data-api") || api) + "/form.js";
    }
  };
  var push = history.pushState;
  history.pushState = function () { push.apply(history, arguments); view(); };
  w.addEventListener("popstate", view);
  q.forEach(function (c) { if (c[0] == "consent") ask = 0; });
  view();
  q.forEach(function (c) { api_[c[0]] && api_[c[0]].apply(api_, c[1]); });
})(window, document, navigator);
