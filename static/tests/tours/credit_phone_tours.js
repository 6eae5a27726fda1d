/** @odoo-module **/
// Tours of the resident's pages on a phone, started by tests/test_portal_phone.py:
// every page one tap away on a 320 px wide screen.

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
