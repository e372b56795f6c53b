// The customer portal's one script: copy a key, and confirm before freeing a device.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  navigator.clipboard.writeText(button.dataset.copy).then(
    () => {
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    },
    () => { window.getSelection().selectAllChildren(button.previousElementSibling); },
  );
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("form.free") && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
