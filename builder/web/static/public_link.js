// The public-link page: "Copy link" copies the link to the clipboard (the field is selectable
// without JavaScript too).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-link]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copyLink);
  if (!input) return;
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    document.execCommand("copy");
  }
  const note = button.parentElement.querySelector("[data-copied]");
  if (note) note.hidden = false;
});
