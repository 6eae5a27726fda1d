/** @odoo-module **/
// Tours of the resident's phone pages, started by tests/test_portal_tours.py,
// which also does the reviewer's and the organiser's part in between.

import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

tours.add("community_credit_declare", {
    url: "/my/credit",
    steps: () => [
        {
            content: "Open the declaration form from My Points",
            trigger: "a[href='/my/credit/declare'].btn-primary",
            run: "click",
        },
        {
            content: "Choose the good deed",
            trigger: "select[name=rule_id]",
            run: "selectByLabel Clean the stairwell",
        },
        {
            content: "Say what happened",
            trigger: "textarea[name=description]",
            run: "edit Swept the stairs of building A1",
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
            content: "Its status is shown",
            trigger: "h3:contains(Clean the stairwell)",
        },
    ],
});

tours.add("community_credit_see_points", {
    url: "/my/credit",
    steps: () => [
        {
            content: "The reviewed good deed is in the history with its points",
            trigger: ".list-group-item:contains(Clean the stairwell) .badge:contains(+2)",
        },
        {
            content: "and in the balance",
            trigger: ".display-4:contains(2)",
        },
    ],
});

tours.add("community_credit_event_signup", {
    url: "/my/credit",
    steps: () => [
        {
            content: "Open the volunteer events",
            trigger: "a[href='/my/credit/events'].btn",
            run: "click",
        },
        {
            content: "Sign up for the stairwell patrol",
            trigger: ".o_credit_event:contains(Stairwell patrol) .o_credit_event_register",
            run: "click",
        },
        {
            content: "Signed up",
            trigger: ".alert-success:contains(signed up)",
        },
        {
            content: "The event shows the sign-up",
            trigger: ".o_credit_event:contains(Stairwell patrol) .badge:contains(Signed up)",
        },
    ],
});

tours.add("community_credit_event_hours", {
    url: "/my/credit/events",
    steps: () => [
        {
            content: "The attended event counts its hours",
            trigger: ".o_credit_hours_year:contains(3)",
        },
        {
            content: "and shows as attended",
            trigger: ".list-group-item:contains(Stairwell patrol) .badge:contains(Attended)",
        },
        {
            content: "Its points are in My Points",
            trigger: ".o_credit_nav a[href='/my/credit']",
            run: "click",
        },
        {
            content: "The event's points are in the history",
            trigger: ".list-group-item:contains(Stairwell patrol) .badge:contains(+4)",
        },
    ],
});

tours.add("community_credit_redeem", {
    url: "/my/credit",
    steps: () => [
        {
            content: "Open the rewards",
            trigger: "a[href='/my/credit/rewards'].btn",
            run: "click",
        },
        {
            content: "Redeem a bowl of noodles",
            trigger: ".o_credit_reward:contains(Bowl of noodles) .o_credit_redeem",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal.show:contains(Bowl of noodles) .o_credit_confirm_yes",
            run: "click",
        },
        {
            content: "The voucher shows its code",
            trigger: ".o_credit_voucher .o_credit_voucher_code",
        },
        {
            content: "and its QR code, loaded",
            trigger: ".o_credit_voucher img[src*='barcode_type=QR']",
            run() {
                const img = document.querySelector(".o_credit_voucher img");
                if (!img.complete || !img.naturalWidth) {
                    throw new Error("the QR code did not load");
                }
            },
        },
        {
            content: "The voucher is in My Vouchers",
            trigger: "a.btn-link[href='/my/credit/rewards']",
            run: "click",
        },
        {
            content: "listed as issued",
            trigger: ".list-group-item:contains(Bowl of noodles) .badge:contains(Issued)",
        },
    ],
});
