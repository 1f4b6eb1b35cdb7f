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
