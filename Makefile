# The two set-up commands of the README.
.PHONY: demo test lint
demo:  ## prepare Python, create a demo database, install the addon, start Odoo on :8069
	bash scripts/run-demo.sh
test:  ## fresh database, install the addon, run every test
	bash scripts/run-tests.sh
lint:  ## ruff and pylint-odoo on the addon
	bash scripts/lint.sh
