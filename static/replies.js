/* The reply box: a preview of its Markdown as the requester will see it (rendered by the server, signature
   included), and images pasted or files dropped into it added to the reply's attachments. Without this
   script the reply is sent just the same. */
"use strict";

document.querySelectorAll("[data-reply-tools]").forEach((tools) => {
  const body = document.getElementById(tools.dataset.body);
  const files = document.getElementById(tools.dataset.files);
  const form = body && body.form;
  if (!form) return;
  const token = form.querySelector('input[name$="csrf_token"]');
  const button = tools.querySelector(".preview-button");
  const preview = tools.querySelector(".reply-preview");
  const pasted = tools.querySelector(".pasted");

  button.hidden = false;
  button.addEventListener("click", async () => {
    let html = null;
    try {
      const response = await fetch(tools.dataset.previewUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
        body: JSON.stringify({ body: body.value }),
      });
      if (response.ok) html = (await response.json()).html;
    } catch (error) { /* shown below */ }
    if (html === null) {
      preview.textContent = tools.dataset.previewFailed;
    } else {
      preview.innerHTML = html; // sanitised by the server, as the ticket page shows it
    }
    preview.hidden = false;
    preview.focus();
  });
  body.addEventListener("input", () => { preview.hidden = true; });

  if (!files || typeof DataTransfer === "undefined") return;
  let count = 0;
  const showNames = () => {
    const names = Array.from(files.files, (file) => file.name);
    pasted.textContent = names.length ? `${tools.dataset.pastedLabel} ${names.join(", ")}` : "";
    pasted.hidden = names.length === 0;
  };
  const attach = (added) => {
    const all = new DataTransfer();
    Array.from(files.files).forEach((file) => all.items.add(file));
    added.forEach((file) => {
      // A pasted screenshot is called "image.png" every time: give each its own name.
      if (!file.name || /^image\.\w+$/.test(file.name)) {
        count += 1;
        const extension = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
        file = new File([file], `pasted-image-${count}.${extension}`, { type: file.type });
      }
      all.items.add(file);
    });
    files.files = all.files;
    showNames();
  };
  body.addEventListener("paste", (event) => {
    const images = Array.from(event.clipboardData ? event.clipboardData.files : []).filter(
      (file) => file.type.startsWith("image/"));
    if (images.length) {
      event.preventDefault(); // the text box cannot hold an image: it becomes an attachment instead
      attach(images);
    }
  });
  body.addEventListener("dragover", (event) => {
    if (event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files")) event.preventDefault();
  });
  body.addEventListener("drop", (event) => {
    const dropped = Array.from(event.dataTransfer ? event.dataTransfer.files : []);
    if (dropped.length) {
      event.preventDefault(); // else the browser leaves the page to open the file, and the reply is lost
      attach(dropped);
    }
  });
  files.addEventListener("change", showNames);
});
