/** @odoo-module **/
// Phone photos (4000 × 3000, 5–8 MB) made smaller in the browser before they are
// sent, on every photo input of the resident's credit pages
// (input.o_credit_photo_input): at most 1600 px on the long side, JPEG quality
// 0.8, usually a few hundred KB. The chosen files are replaced in the input
// (DataTransfer), so the form sends them as usual. PDF files, and images the
// browser cannot read, are left as they are: the server makes a large photo
// smaller too and refuses what it cannot (controllers/portal_resident.py).

export const MAX_SIDE = 1600;
export const QUALITY = 0.8;
// an image already this small, and no larger than MAX_SIDE, is sent as it is
const SMALL_BYTES = 1024 * 1024;
const RESIZABLE = /^image\/(jpeg|png|webp|bmp|heic|heif)$/;

async function readImage(file) {
    if (window.createImageBitmap) {
        try {
            return await createImageBitmap(file, { imageOrientation: "from-image" });
        } catch {
            // fall back on an <img>, which some browsers decode where this fails
        }
    }
    const url = URL.createObjectURL(file);
    try {
        const img = new Image();
        img.src = url;
        await img.decode();
        return img;
    } finally {
        URL.revokeObjectURL(url);
    }
}

/** `file` made smaller as a JPEG, or `file` itself when it is small enough, not
 * a photo, or cannot be read here. */
export async function shrinkPhoto(file) {
    if (!RESIZABLE.test(file.type)) {
        return file;
    }
    let image;
    try {
        image = await readImage(file);
    } catch {
        return file;
    }
    const width = image.naturalWidth || image.width;
    const height = image.naturalHeight || image.height;
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    if (!width || !height || (scale === 1 && file.size <= SMALL_BYTES)) {
        image.close?.();
        return file;
    }
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // a transparent PNG gets a white background, not black
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    image.close?.();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
    canvas.width = canvas.height = 0; // free the canvas' memory at once on a phone
    if (!blob || blob.size >= file.size) {
        return file;
    }
    const name = `${file.name.replace(/\.[^.]*$/, "") || "photo"}.jpg`;
    return new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified });
}

async function onPhotosChosen(input) {
    const form = input.form;
    const buttons = form ? [...form.querySelectorAll("button[type=submit]")] : [];
    const busy = input.parentElement.querySelector(".o_credit_photo_busy");
    // a second choice while the first is still being made smaller wins
    const turn = (input._creditPhotoTurn = (input._creditPhotoTurn || 0) + 1);
    input.dataset.creditPhotos = "busy";
    buttons.forEach((button) => (button.disabled = true));
    busy?.classList.remove("d-none");
    try {
        const files = [];
        for (const file of input.files) {
            // one at a time: a phone has little memory for several decoded photos
            files.push(await shrinkPhoto(file));
        }
        if (turn === input._creditPhotoTurn) {
            const transfer = new DataTransfer();
            files.forEach((file) => transfer.items.add(file));
            input.files = transfer.files;
        }
    } finally {
        if (turn === input._creditPhotoTurn) {
            input.dataset.creditPhotos = "ready";
            buttons.forEach((button) => (button.disabled = false));
            busy?.classList.add("d-none");
        }
    }
}

document.addEventListener("change", (ev) => {
    const input = ev.target;
    if (
        input instanceof HTMLInputElement &&
        input.matches("input[type=file].o_credit_photo_input") &&
        input.files.length &&
        typeof DataTransfer !== "undefined"
    ) {
        onPhotosChosen(input);
    }
});
