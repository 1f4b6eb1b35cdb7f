// Tumbler console: small progressive enhancements; every page works without this script.
"use strict";

// Times: each `<time datetime>` shown in the viewer's own time zone with the zone's name, in
// the server's `YYYY-MM-DD HH:MM` shape (the server's UTC text stays as the title).
const localFormat = window.Intl && Intl.DateTimeFormat.prototype.formatToParts
  ? new Intl.DateTimeFormat("en-US", {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
  })
  : null;
const localText = (at) => {
  const p = {};
  for (const part of localFormat.formatToParts(at)) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
};
const localTimes = (root) => {
  if (!localFormat) return;
  for (const time of root.querySelectorAll("time[datetime]")) {
    if (time.dataset.local) continue;
    const at = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(at.getTime())) continue;
    time.title = time.textContent;
    time.textContent = localText(at);
    time.dataset.local = "true";
  }
};
document.addEventListener("DOMContentLoaded", () => localTimes(document));
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("password-form");
  if (!form) return;
  const next = document.getElementById("new-password");
  const confirm = document.getElementById("confirm-password");
  const check = () => confirm.setCustomValidity(confirm.value === next.value ? "" : "The passwords do not match.");
  next.addEventListener("input", check);
  confirm.addEventListener("input", check);
});

// A run's page: its log, live while the run goes on (server-sent events).
document.addEventListener("DOMContentLoaded", () => {
  const log = document.getElementById("execution-log");
  if (!log || !window.EventSource) return;
  const source = new EventSource(log.dataset.stream);
  // Each line starts with its time (RFC 3339): shown like every other time on the page.
  source.onmessage = (e) => {
    const space = e.data.indexOf(" ");
    const stamp = space > 0 ? e.data.slice(0, space) : "";
    const at = new Date(stamp);
    if (!localFormat || !stamp.includes("T") || Number.isNaN(at.getTime())) {
      log.append(e.data + "\n");
      return;
    }
    const time = document.createElement("time");
    time.setAttribute("datetime", stamp);
    time.title = at.toISOString().slice(0, 19).replace("T", " ") + " UTC";
    time.textContent = localText(at);
    time.dataset.local = "true";
    log.append(time, e.data.slice(space) + "\n");
  };
  source.addEventListener("end", () => {
    source.close();
    log.dataset.ended = "true";
    document.dispatchEvent(new Event("run-log-ended"));
  });
});


// A run's page follows the run: while it goes on (every few seconds) and when its log ends,
// the page's own address is fetched again and its live parts (status, counts, records:
// `[data-live]`) are swapped in, until `#run-fields` says the run has ended. A part where a
// dialog is open or the focus is waits for the next turn.
document.addEventListener("DOMContentLoaded", () => {
  const fields = document.getElementById("run-fields");
  if (!fields || fields.hasAttribute("data-ended") || !window.fetch || !window.DOMParser) return;
  let timer = null;
  let loading = false;
  const busy = (part) => part.querySelector("details[open]") || part.contains(document.activeElement);
  const refresh = () => {
    clearTimeout(timer);
    if (loading) return;
    loading = true;
    fetch(window.location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((answer) => (answer.ok ? answer.text() : Promise.reject(new Error(String(answer.status)))))
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        let waiting = false;
        for (const part of document.querySelectorAll("[data-live][id]")) {
          const next = fresh.getElementById(part.id);
          if (!next) continue;
          if (busy(part)) {
            waiting = true;
            continue;
          }
          part.replaceWith(document.importNode(next, true));
        }
        localTimes(document);
        const now = document.getElementById("run-fields");
        return waiting || !now || !now.hasAttribute("data-ended") ? 3000 : null;
      })
      .catch(() => 5000)
      .then((again) => {
        loading = false;
        if (again) timer = setTimeout(refresh, again);
      });
  };
  document.addEventListener("run-log-ended", refresh);
  timer = setTimeout(refresh, 3000);
});

// The task form: a fresh example password whenever the rules change (the server checks the
// rules again when the task is saved).
document.addEventListener("DOMContentLoaded", () => {
  const rules = document.getElementById("password-rules");
  const example = document.getElementById("rule-example");
  if (!rules || !example || !window.crypto) return;
  const value = (id) => document.getElementById(id).value.trim();
  const pick = (chars) => {
    const n = new Uint32Array(1);
    window.crypto.getRandomValues(n);
    return chars[n[0] % chars.length];
  };
  const refresh = () => {
    const exclude = value("rule-exclude");
    const symbols = [...rules.dataset.symbols].filter((c) => !exclude.includes(c)).join("");
    const classes = [
      ["rule-lowercase", "abcdefghijklmnopqrstuvwxyz"],
      ["rule-uppercase", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"],
      ["rule-digit", "0123456789"],
      ["rule-symbol", symbols],
    ].filter(([id, chars]) => value(id) !== "" && chars.length > 0);
    const length = parseInt(value("rule-length"), 10);
    const required = classes.reduce((sum, [id]) => sum + parseInt(value(id), 10), 0);
    if (!classes.length || !(length >= required)) {
      example.textContent = "(no password fits these rules)";
      return;
    }
    const out = [];
    classes.forEach(([id, chars]) => { for (let i = 0; i < parseInt(value(id), 10); i++) out.push(pick(chars)); });
    const all = classes.map(([, chars]) => chars).join("");
    while (out.length < length) out.push(pick(all));
    for (let i = out.length - 1; i > 0; i--) {
      const n = new Uint32Array(1);
      window.crypto.getRandomValues(n);
      const j = n[0] % (i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    example.textContent = out.join("");
  };
  rules.addEventListener("input", refresh);
});

// A private key file chosen in a form fills the text area it names (read in the browser).
document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("input[type=file][data-fills]")) {
    input.addEventListener("change", () => {
      const target = document.getElementById(input.dataset.fills);
      const file = input.files && input.files[0];
      if (!target || !file) return;
      file.text().then((text) => { target.value = text; });
    });
  }
});

// Revealed secrets: a copy button per value, and the values hidden again after a while.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.addEventListener("click", () => {
      const value = document.getElementById(button.dataset.copy);
      if (!value || !navigator.clipboard) return;
      navigator.clipboard.writeText(value.textContent).then(() => {
        button.textContent = "Copied";
        button.closest("[data-hide-after]")?.setAttribute("data-copied", "true");
      });
    });
  }
  for (const block of document.querySelectorAll("[data-hide-after]")) {
    const seconds = parseInt(block.dataset.hideAfter, 10);
    setTimeout(() => {
      for (const value of block.querySelectorAll(".secret-value")) value.textContent = "(hidden)";
      // A copied secret leaves the clipboard too (where the browser lets a page write it).
      if (block.dataset.copied && navigator.clipboard) navigator.clipboard.writeText("").catch(() => {});
      for (const button of block.querySelectorAll("button.copy")) button.disabled = true;
      block.dataset.hidden = "true";
    }, seconds * 1000);
  }
});

// Two-factor settings (mfa): recovery codes downloaded as a text file built here from the
// codes on the page (a data: URL; the codes never travel in a server URL).
document.addEventListener("DOMContentLoaded", () => {
  for (const link of document.querySelectorAll("a[data-download-from]")) {
    const source = document.getElementById(link.dataset.downloadFrom);
    if (!source) continue;
    link.href = "data:text/plain;charset=utf-8," + encodeURIComponent(source.textContent);
    link.hidden = false;
  }
});

// Fields that apply only to some choices: a wrapper marked `data-show-when="name=value"` (or
// `name=a|b`) is shown, and its fields posted, only while its form's control `name` holds one
// of those values; otherwise it gets `hidden` and its fields are disabled, so they are not
// posted. Without this script every field stays visible.
document.addEventListener("DOMContentLoaded", () => {
  const forms = new Set();
  for (const wrapper of document.querySelectorAll("[data-show-when]")) {
    if (wrapper.form || wrapper.closest("form")) forms.add(wrapper.form || wrapper.closest("form"));
  }
  const current = (form, name) => {
    const control = form.elements.namedItem(name);
    if (!control) return null;
    if (control.type === "checkbox") return control.checked ? control.value : "";
    return control.value; // a radio group (RadioNodeList) gives its checked radio's value
  };
  const apply = (form) => {
    for (const wrapper of form.querySelectorAll("[data-show-when]")) {
      const rule = wrapper.dataset.showWhen;
      const at = rule.indexOf("=");
      if (at < 1) continue;
      const show = rule.slice(at + 1).split("|").includes(current(form, rule.slice(0, at)));
      wrapper.hidden = !show;
      const fields = [...wrapper.querySelectorAll("input, select, textarea, button, fieldset")];
      if (wrapper.matches("input, select, textarea, fieldset")) fields.push(wrapper);
      for (const field of fields) {
        // Only what this script disabled is enabled again.
        if (!show && !field.disabled) {
          field.disabled = true;
          field.dataset.shownWhenOff = "true";
        } else if (show && field.dataset.shownWhenOff) {
          field.disabled = false;
          delete field.dataset.shownWhenOff;
        }
      }
    }
  };
  for (const form of forms) {
    form.addEventListener("change", () => apply(form));
    apply(form);
  }
  // A page restored by the back button keeps the choices it had: follow them.
  window.addEventListener("pageshow", () => forms.forEach(apply));
});
