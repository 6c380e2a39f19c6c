(function (w, d) {
  var api = d.currentScript.src.replace(/\/form\.js([?#].*)?$/, ""), n = 0;
  function el(tag, props, kids) {
    var e = d.createElement(tag), k;
    for (k in props || {}) if (props[k] != null) e[k] = props[k];
    (kids || []).forEach(function (c) { e.appendChild(typeof c == "string" ? d.createTextNode(c) : c); });
    return e;
  }
  function draw(name, box) {
    box = typeof box == "string" ? d.querySelector(box) : box;
    var s = w.sodate, lang = box.getAttribute("lang") || d.documentElement.lang || "";
    fetch(api + "/forms/" + encodeURIComponent(s.site) + "/" + encodeURIComponent(name) + "/spec?lang=" + (/^en/.test(lang) ? "en" : "ja"))
      .then(function (r) { return r.json(); })
      .then(function (spec) {
        var id = "sodate-" + name + "-" + (++n) + "-", form = el("form", { noValidate: false }),
          note = el("p", { role: "status" }), hp = el("input", { name: "sodate_hp", tabIndex: -1, autocomplete: "off" }), wrap;
        note.setAttribute("aria-live", "polite");
        wrap = el("div", {}, [hp]);
        wrap.setAttribute("aria-hidden", "true");
        wrap.style.position = "absolute"; wrap.style.left = "-10000px";
        form.appendChild(wrap);
        spec.fields.forEach(function (f) {
          var input = f.options.length ? el("select", { id: id + f.name, name: f.name, required: f.required },
            [el("option", { value: "" })].concat(f.options.map(function (o) { return el("option", {}, [o]); })))
            : el("input", { id: id + f.name, name: f.name, type: f.type, required: f.required, maxLength: f.max });
          form.appendChild(el("p", {}, [el("label", { htmlFor: id + f.name }, [f.label]), el("br"), input]));
        });
        if (spec.topics.length) form.appendChild(el("fieldset", {}, [el("legend", {}, [spec.topics_legend])].concat(
          spec.topics.map(function (t) {
            return el("label", {}, [el("input", { type: "checkbox", name: "topics", value: t.name, checked: true }), " " + t.label, el("br")]);
          }))));
        form.appendChild(el("p", { className: "sodate-consent" }, [spec.consent]));
        form.appendChild(el("button", { type: "submit" }, [spec.send]));
        form.appendChild(note);
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          var b = { site: s.site, form: name, ft: spec.ft, lang: spec.lang, page: location.href, path: location.pathname, topics: [] },
            v = s.visitor && s.visitor();
          if (v) b.v = v;
          new FormData(form).forEach(function (value, key) { if (key == "topics") b.topics.push(value); else b[key] = value; });
          fetch(api + "/f", { method: "POST", body: JSON.stringify(b), headers: { "Content-Type": "text/plain" } })
            .then(function (r) { return r.json().then(function (j) {
              note.textContent = r.ok ? j.thanks : j.Message;
              if (r.ok) form.querySelector("button").disabled = true;
            }); })
            .catch(function () { note.textContent = "Not sent; please try again."; });
        });
        box.appendChild(form);
      })
      .catch(function () {});
  }
  w.sodate_form = function () {
    var q = w.sodate_forms || [];
    while (q.length) { var f = q.shift(); try { draw(f[0], f[1]); } catch (e) {} }
  };
  w.sodate_form();
})(window, document);
