import base64

from odoo import api, models

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CreditXlsx(models.AbstractModel):
    _name = "credit.xlsx"
    _description = "XLSX download of a credit report"

    @api.model
    def _xlsx_download(self, record, buffer, name):
        """Attach the workbook in `buffer` to `record` and download it."""
        attachment = self.env["ir.attachment"].create(
            {
                "name": f"{name}.xlsx",
                "datas": base64.b64encode(buffer.getvalue()),
                "res_model": record._name,
                "res_id": record.id,
                "mimetype": XLSX_MIMETYPE,
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "self",
        }
