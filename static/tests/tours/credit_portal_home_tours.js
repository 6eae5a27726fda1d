/** @odoo-module **/
// Tours of /my on a phone (390x844), started by tests/test_portal_home.py: every
// page of a resident one tap away, the merchant's hand-over page, and a
// commitment read before it is signed.

import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

/** Tap the card of `url` on /my, check that its page opened, and come back. */
function cardSteps(url) {
    return [
        {
            content: `The card of ${url} is shown on /my`,
            trigger: `.o_portal_my_home .o_portal_index_card a[href='${url}']`,
            run: "click",
        },
        {
            content: `${url} opens`,
            trigger: "#wrap:not(:has(.o_portal_my_home))",
            run() {
                const path = window.location.pathname;
                if (path !== url) {
                    throw new Error(`The card of ${url} led to ${path}`);
                }
            },
        },
        {
            content: "Back to /my",
            trigger: "body",
            run: "goToUrl /my",
        },
        {
            content: "/my again",
            trigger: ".o_portal_my_home",
        },
    ];
}

tours.add("community_credit_home_cards", {
    url: "/my",
    steps: () => [
        ...[
            "/my/credit",
            "/my/credit/declare",
            "/my/credit/claims",
            "/my/credit/events",
            "/my/credit/rewards",
            "/my/credit/notices",
            "/my/credit/commitments",
            "/my/credit/boards",
            "/my/credit/publications",
        ].flatMap(cardSteps),
        {
            content: "A resident has no hand-over page",
            trigger: ".o_portal_my_home:not(:has(a[href='/my/credit/vouchers']))",
        },
    ],
});

tours.add("community_credit_merchant_home", {
    url: "/my",
    steps: () => [
        {
            content: "A merchant has no resident cards",
            trigger: ".o_portal_my_home:not(:has(a[href='/my/credit']))",
        },
        {
            content: "Open the hand-over page from /my",
            trigger: ".o_portal_index_card a[href='/my/credit/vouchers']",
            run: "click",
        },
        {
            content: "Type the code the resident shows",
            trigger: "form[action='/my/credit/vouchers/honour'] input[name=code]",
            run: "edit NOSUCHCODE",
        },
        {
            content: "Hand over",
            trigger: "form[action='/my/credit/vouchers/honour'] button[type=submit]",
            run: "click",
        },
        {
            content: "A wrong code is refused with a message",
            trigger: ".alert-danger",
        },
    ],
});

tours.add("community_credit_commitment_sign", {
    url: "/my",
    steps: () => [
        {
            content: "Open the commitments from /my",
            trigger: ".o_portal_index_card a[href='/my/credit/commitments']",
            run: "click",
        },
        {
            content: "The broken one says so in the list",
            trigger: ".card:contains(Neighbourly pact) .o_credit_commitment_broken",
        },
        {
            content: "Read it",
            trigger: ".card:contains(Neighbourly pact) a:contains(Read and Sign)",
            run: "click",
        },
        {
            content: "What breaks it is said",
            trigger: ".o_credit_obligation_measure:contains(Fighting)",
        },
        {
            content: "Both outcomes are shown",
            trigger: ".o_credit_outcome_kept:contains(+5) ~ .o_credit_outcome_broken:contains(-3)",
        },
        {
            content: "The warning: it can no longer be kept, with the deduction that broke it",
            trigger: ".o_credit_commitment_warning:contains(no longer be kept):contains(Fighting)",
        },
        {
            content: "and no way to sign it",
            trigger: "#wrap:not(:has(.o_credit_commitment_sign_form))",
        },
        {
            content: "Back to the commitments",
            trigger: "body",
            run: "goToUrl /my/credit/commitments",
        },
        {
            content: "Read the other one",
            trigger: ".card:contains(Tidy building pact) a:contains(Read and Sign)",
            run: "click",
        },
        {
            content: "Both outcomes are shown",
            trigger: ".o_credit_outcome_kept:contains(+5) ~ .o_credit_outcome_broken:contains(-3)",
        },
        {
            content: "It can still be kept: no warning",
            trigger: "#wrap:not(:has(.o_credit_commitment_warning))",
        },
        {
            content: "Accept",
            trigger: ".o_credit_commitment_sign_form input[name=accept]",
            run: "check",
        },
        {
            content: "Sign",
            trigger: ".o_credit_commitment_sign_form button[type=submit]",
            run: "click",
        },
        {
            content: "Signed",
            trigger: ".alert-success:contains(your commitment is signed)",
        },
        {
            content: "and both outcomes stay in sight while it runs",
            trigger: ".o_credit_outcome_kept:contains(+5) ~ .o_credit_outcome_broken:contains(-3)",
        },
    ],
});
