// Tumbler console: small progressive enhancements; every page works without this script.
"use strict";
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
  source.onmessage = (e) => {
    log.textContent += e.data + "\n";
  };
  source.addEventListener("end", () => {
    source.close();
    log.dataset.ended = "true";
  });
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
