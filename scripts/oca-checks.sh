#!/usr/bin/env bash
# The OCA's oca-checks-odoo-module (manifest, XML, CSV) and oca-checks-po
# (translations) on this addon. They name the module after its directory and
# silently pass on a checkout not named like the addon, so they run on a copy of
# the working tree's files (tracked and new, not ignored) named community_credit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tmp="$(mktemp -d "${TMPDIR:-/tmp}/community_credit_oca.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/community_credit"
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -cf - -T - | tar -xf - -C "$tmp/community_credit"
cd "$tmp"
status=0
# README.md is this project's README (the brief asks for Markdown).
oca-checks-odoo-module --disable=prefer-readme-rst community_credit/__manifest__.py \
    2>&1 | sed "s|$tmp/||" || status=$?
# po-pretty-format is left out: scripts/update-i18n.sh writes the files in the order
# Odoo exports the terms (polib), and the two orders would swap at every update.
oca-checks-po --disable=po-pretty-format community_credit/i18n/*.po community_credit/i18n/*.pot \
    2>&1 | sed "s|$tmp/||" || status=$?
exit "$status"
