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
