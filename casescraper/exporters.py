"""Feed exporters for case records whose fields nest (`-o cases.csv`, `-o cases.xml`).

JSON and JSON Lines feeds keep a record as its case file has it. A CSV row has one cell
per field, so the nested fields (other_fields, parties, related, docket_entries) are
JSON text there, and null is an empty cell. XML gets well-formed element names: the
labels of `other_fields` (free text from the page) become `<field label="...">`
elements, null an empty element, booleans `true`/`false`. They are the `cases` spider's
(CASE_FEED_SETTINGS, its custom_settings), not the project's: set project-wide, the
record's fields would turn another spider's dict items into `{}`.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.xmlreader import AttributesImpl

from scrapy.exporters import CsvItemExporter, XmlItemExporter

from casescraper.items import RECORD_FIELDS

# Feeds (`-o cases.jsonl`) hold the cases of the run, each as its case file has it
# (schema v2, in its order), never the evidence (a page of HTML per case: it is kept in
# raw/, see casescraper.record.evidence). Outcomes without a record are not items (see
# casescraper.signals). CSV cells hold nested fields as JSON text; XML elements stay
# well-formed whatever the page's labels.
CASE_FEED_SETTINGS: dict[str, Any] = {
    "FEED_EXPORT_FIELDS": list(RECORD_FIELDS),
    "FEED_EXPORTERS": {
        "csv": "casescraper.exporters.CaseCsvItemExporter",
        "xml": "casescraper.exporters.CaseXmlItemExporter",
    },
}


def json_text(value: Any) -> str:
    """One CSV cell: text as is, null empty, anything nested (or a number) as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class CaseCsvItemExporter(CsvItemExporter):
    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        return json_text(value)


class CaseXmlItemExporter(XmlItemExporter):
    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        if name == "other_fields" and isinstance(value, dict):
            return [_Labelled(label, text) for label, text in value.items()]
        return value

    def _export_xml_field(self, name: str, serialized_value: Any, depth: int) -> None:
        if isinstance(serialized_value, _Labelled):
            self._beautify_indent(depth=depth)
            self.xg.startElement("field", AttributesImpl({"label": serialized_value.label}))
            if serialized_value.text is not None:
                self.xg.characters(serialized_value.text)
            self.xg.endElement("field")
            self._beautify_newline()
        elif serialized_value is None:
            self._beautify_indent(depth=depth)
            self.xg.startElement(name, AttributesImpl({}))
            self.xg.endElement(name)
            self._beautify_newline()
        elif isinstance(serialized_value, bool):
            super()._export_xml_field(name, "true" if serialized_value else "false", depth)
        else:
            super()._export_xml_field(name, serialized_value, depth)


class _Labelled:
    """One `other_fields` entry: its label is page text, not an XML name."""

    def __init__(self, label: str, text: Any):
        self.label, self.text = str(label), None if text is None else str(text)
