# The two set-up commands of the README.
.PHONY: demo test lint pytest wheel
demo:  ## prepare Python, create a demo database, install the addon, start Odoo on :8069
	bash scripts/run-demo.sh
test:  ## fresh database, install the addon, run every test
	bash scripts/run-tests.sh
lint:  ## ruff and pylint-odoo on the addon
	bash scripts/lint.sh
pytest:  ## the non-browser tests under pytest-odoo (PYTEST_DB=<db> to reuse a database; CC_SLOW=1 for the slow ones)
	bash scripts/run-pytest.sh
wheel:  ## build the wheel odoo-addon-community_credit and install the addon from it into a new database
	bash scripts/check-wheel.sh
