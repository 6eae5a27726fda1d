/** @odoo-module **/
// Tours of the resident's pages on a phone, started by tests/test_portal_phone.py:
// every page one tap away on a 320 px wide screen, a confirmation before
// redeeming and before cancelling a sign-up, a large photo from the camera
// made smaller before it is sent.

import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

const PAGES = [
    "/my/credit",
    "/my/credit/declare",
    "/my/credit/claims",
    "/my/credit/events",
    "/my/credit/rewards",
    "/my/credit/commitments",
    "/my/credit/boards",
    "/my/credit/publications",
    "/my/credit/notices",
];
// a finger needs about 44 px (Apple's and Google's guidelines)
const FINGER = 44;

/** Every page's button is on the screen, whole, uncovered and big enough to tap. */
function checkEveryButtonInReach() {
    const screen = document.documentElement;
    const tabs = [...document.querySelectorAll(".o_credit_nav a.o_credit_tab")];
    const hrefs = tabs.map((tab) => tab.getAttribute("href"));
    if (JSON.stringify(hrefs) !== JSON.stringify(PAGES)) {
        throw new Error(`The buttons lead to ${hrefs}, not to every page`);
    }
    for (const tab of tabs) {
        const name = `The button to ${tab.getAttribute("href")} (${tab.textContent.trim()})`;
        const box = tab.getBoundingClientRect();
        if (box.left < 0 || box.right > screen.clientWidth) {
            throw new Error(`${name} is off the side of the screen (${box.left}-${box.right})`);
        }
        if (box.top < 0 || box.bottom > screen.clientHeight) {
            throw new Error(`${name} is off the top or bottom of the screen`);
        }
        if (box.width < FINGER || box.height < FINGER) {
            throw new Error(`${name} is too small to tap (${box.width} x ${box.height})`);
        }
        const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
        if (!tab.contains(hit)) {
            throw new Error(`${name} is hidden or cut off at its middle`);
        }
        if (tab.scrollWidth > tab.clientWidth + 1 || tab.scrollHeight > tab.clientHeight + 1) {
            throw new Error(`${name} does not show its whole label`);
        }
    }
    if (screen.scrollWidth > screen.clientWidth + 1) {
        throw new Error(`${window.location.pathname} scrolls sideways`);
    }
}

function pageSteps(url) {
    return [
        {
            content: "Every page is in reach",
            trigger: ".o_credit_nav a.o_credit_tab.active",
            run: checkEveryButtonInReach,
        },
        {
            content: `Tap the button to ${url}`,
            trigger: `.o_credit_nav a.o_credit_tab[href='${url}']`,
            run: "click",
        },
        {
            content: `${url} opens, its button marked`,
            trigger: `.o_credit_nav a.o_credit_tab.active[href='${url}']`,
            run() {
                // the language may lead the path (/zh_CN/my/credit)
                const path = window.location.pathname.replace(/^\/[a-z]{2}(_[A-Z]{2})?(?=\/my\/)/, "");
                if (path !== url) {
                    throw new Error(`The button to ${url} led to ${window.location.pathname}`);
                }
            },
        },
    ];
}

tours.add("community_credit_phone_pages", {
    url: "/my/credit",
    steps: () => [
        // from /my/credit to every other page in turn, and back
        ...[...PAGES.slice(1), PAGES[0]].flatMap(pageSteps),
        {
            content: "Every page is in reach on the last page too",
            trigger: ".o_credit_nav a.o_credit_tab.active",
            run: checkEveryButtonInReach,
        },
    ],
});

tours.add("community_credit_phone_redeem", {
    url: "/my/credit/rewards",
    steps: () => [
        {
            content: "Tap Redeem under the noodles",
            trigger: ".o_credit_reward:contains(Bowl of noodles) .o_credit_redeem",
            run: "click",
        },
        {
            content: "Asked first, with the reward and its price",
            trigger:
                ".modal.show .modal-body:contains(Bowl of noodles):contains(Points used: 6):contains(Points left afterwards: 2)",
        },
        {
            content: "Change one's mind",
            trigger: ".modal.show .o_credit_confirm_no",
            run: "click",
        },
        {
            content: "The dialog is gone",
            trigger: "body:not(:has(.modal.show))",
        },
        {
            content: "Nothing was redeemed: the points are all there",
            trigger: ".o_credit_balance:contains(8)",
        },
        {
            content: "and no voucher",
            trigger: "p:contains(You have not redeemed a reward yet)",
        },
        {
            content: "Reload: still nothing redeemed",
            trigger: "body",
            run: "goToUrl /my/credit/rewards",
        },
        {
            content: "Still no voucher",
            trigger: "p:contains(You have not redeemed a reward yet)",
        },
        {
            content: "Tap Redeem again",
            trigger: ".o_credit_reward:contains(Bowl of noodles) .o_credit_redeem",
            run: "click",
        },
        {
            content: "Confirm, with a big button",
            trigger: ".modal.show .o_credit_confirm_yes",
            run() {
                const box = this.anchor.getBoundingClientRect();
                if (box.height < 44 || box.width < 200) {
                    throw new Error(`The button is too small (${box.width} x ${box.height})`);
                }
                this.anchor.click();
            },
        },
        {
            content: "The voucher shows its code",
            trigger: ".o_credit_voucher .o_credit_voucher_code",
        },
    ],
});

tours.add("community_credit_phone_cancel", {
    url: "/my/credit/events",
    steps: () => [
        {
            content: "Tap Cancel My Sign-up under the patrol",
            trigger: ".o_credit_event:contains(Stairwell patrol) .o_credit_cancel_signup",
            run: "click",
        },
        {
            content: "Asked first, with the event",
            trigger: ".modal.show .modal-body:contains(Stairwell patrol)",
        },
        {
            content: "Keep the sign-up",
            trigger: ".modal.show .o_credit_confirm_no",
            run: "click",
        },
        {
            content: "The dialog is gone",
            trigger: "body:not(:has(.modal.show))",
        },
        {
            content: "Reload: still signed up",
            trigger: "body",
            run: "goToUrl /my/credit/events",
        },
        {
            content: "Still signed up",
            trigger: ".o_credit_event:contains(Stairwell patrol) .badge:contains(Signed up)",
        },
        {
            content: "Tap Cancel My Sign-up again",
            trigger: ".o_credit_event:contains(Stairwell patrol) .o_credit_cancel_signup",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal.show .o_credit_confirm_yes",
            run: "click",
        },
        {
            content: "Cancelled",
            trigger: ".alert-success:contains(sign-up is cancelled)",
        },
        {
            content: "and the seat is free to take again",
            trigger: ".o_credit_event:contains(Stairwell patrol) .o_credit_event_register",
        },
    ],
});

/** A photo as a phone's camera takes it: 4000 x 3000, a JPEG over 5 MB (noise,
 * which compresses about as badly as a real scene). */
async function cameraPhoto() {
    const canvas = document.createElement("canvas");
    canvas.width = 4000;
    canvas.height = 3000;
    const context = canvas.getContext("2d");
    const pixels = context.createImageData(canvas.width, canvas.height);
    for (let start = 0; start < pixels.data.length; start += 65536) {
        crypto.getRandomValues(pixels.data.subarray(start, start + 65536));
    }
    for (let alpha = 3; alpha < pixels.data.length; alpha += 4) {
        pixels.data[alpha] = 255;
    }
    context.putImageData(pixels, 0, 0);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
    return new File([blob], "IMG_0001.JPG", { type: "image/jpeg" });
}

tours.add("community_credit_phone_photo", {
    url: "/my/credit/declare",
    steps: () => [
        {
            content: "Choose the good deed that needs a photo",
            trigger: "select[name=rule_id]",
            run: "selectByLabel Six-have family",
        },
        {
            content: "Take a photo with the camera",
            trigger: "input[type=file].o_credit_photo_input",
            async run() {
                const photo = await cameraPhoto();
                if (photo.size <= 5 * 1024 * 1024) {
                    throw new Error(`The test photo is only ${photo.size} bytes`);
                }
                const transfer = new DataTransfer();
                transfer.items.add(photo);
                this.anchor.files = transfer.files;
                this.anchor.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            content: "The photo is made smaller before it is sent",
            trigger: "input[type=file].o_credit_photo_input[data-credit-photos=ready]",
            async run() {
                const [photo] = this.anchor.files;
                if (this.anchor.files.length !== 1 || photo.name !== "IMG_0001.jpg") {
                    throw new Error(`The input holds ${this.anchor.files.length} files`);
                }
                if (photo.size > 1024 * 1024) {
                    throw new Error(`The photo is still ${photo.size} bytes`);
                }
                const image = await createImageBitmap(photo);
                if (image.width !== 1600 || image.height !== 1200) {
                    throw new Error(`The photo is ${image.width} x ${image.height}`);
                }
            },
        },
        {
            content: "Submit",
            trigger: ".o_credit_declare_submit",
            run: "click",
        },
        {
            content: "The claim is with the review group",
            trigger: ".alert-success:contains(review group)",
        },
        {
            content: "with its photo",
            trigger: "p:contains(1 photos or files attached)",
        },
    ],
});
