/* casescraper demo court: the page's own script (the real one is
 * /Content/js/pages/courtfiles.js on jQuery, DataTables 1.10 and Bootstrap 4).
 *
 * This plain script reproduces the DOM and the timing those libraries leave behind for the
 * parts a scraper meets, not their code: bootstrap-lite.js (modal fades), datatables-lite.js
 * (results table), popup.js (parties dialog shapes), analytics.js (background traffic).
 *
 * Deliberate trap, as on the real site: when a request fails (HTTP 403/500) the page only
 * logs to the console, hides the loading screen and shows the empty table. A scraper
 * must watch request statuses, not the DOM, to tell "error" from "no data".
 *
 * Knobs arrive in window.DEMOCOURT_CONFIG (written by the server).
 */
(function () {
    "use strict";

    var cfg = window.DEMOCOURT_CONFIG || {};
    var dc = window.democourt;
    var INPUT_ID = cfg.inputId || "selectCourtNumber";
    var SUBMIT_ID = cfg.submitId || "tab02Submit";
    var API = "/CourtFilesAndDecisions/";
    // Knob shape "wet": the markup of a page built on Canada.ca's WET toolkit (knobs.py).
    var WET = cfg.shape === "wet";
    var MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

    function byId(id) { return document.getElementById(id); }

    // Every value goes through esc(): names contain "&", "<" must never become markup.
    function esc(value) {
        return String(value === null || value === undefined ? "" : value)
            .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
            .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
    }

    function pad(n) { return (n < 10 ? "0" : "") + n; }

    // FACT: the page shows "/Date(ms)/" with moment(date).format("YYYY-MM-DD"), i.e. the
    // calendar date in the BROWSER's time zone (a browser in Tokyo may show the next day).
    function showDate(value) {
        var m = /\/Date\((-?\d+)\)\//.exec(value || "");
        if (!m) { return ""; }
        var d = new Date(parseInt(m[1], 10));
        return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
    }

    // The same date as 30-MAY-2025, a spelling the portal uses inside its entries.
    function wetDate(value) {
        var iso = showDate(value);
        return iso ? iso.slice(8) + "-" + MONTHS[parseInt(iso.slice(5, 7), 10) - 1] + "-" +
            iso.slice(0, 4) : "";
    }

    // Invisible characters a person never sees: a soft hyphen and a zero-width space.
    function invisibles(value) {
        var text = String(value === null || value === undefined ? "" : value);
        return text ? text.slice(0, 3) + "\u00ad" + text.slice(3) + "\u200b" : text;
    }

    function knob(name, courtNo) {
        return (cfg[name] || []).indexOf(String(courtNo).toUpperCase()) >= 0;
    }

    // --- loading screen: shown while any request runs ---------------------------------
    var pending = 0;
    function loading(delta) {
        pending += delta;
        byId("loadingscreen").style.display = pending > 0 ? "block" : "none";
    }

    // GET a JSON endpoint the way $.ajax does. onDone(data) runs before the loading
    // screen hides, so "loading screen gone" means "the DOM is up to date".
    function getJSON(endpoint, params, onDone, onFail) {
        var query = Object.keys(params).map(function (k) {
            return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
        }).join("&");
        var xhr = new XMLHttpRequest();
        xhr.open("GET", API + endpoint + "?" + query, true);
        xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
        xhr.setRequestHeader("Accept", "application/json, text/javascript, */*; q=0.01");
        xhr.onreadystatechange = function () {
            if (xhr.readyState !== 4) { return; }
            var data = null;
            if (xhr.status >= 200 && xhr.status < 300) {
                try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
            }
            try {
                if (data && data.data) {
                    onDone(data.data);
                } else {
                    console.error("request failed: " + endpoint + " status " + xhr.status);
                    if (onFail) { onFail(xhr.status); }
                }
            } finally {
                loading(-1);
            }
        };
        loading(1);
        xhr.send();
    }

    // --- tabs ---------------------------------------------------------------------------
    function showTab(hash) {
        var links = document.querySelectorAll("#tab-button a.TabButton");
        for (var i = 0; i < links.length; i++) {
            var target = links[i].getAttribute("href");
            links[i].parentNode.className = target === hash ? "is-active" : "";
            byId(target.slice(1)).style.display = target === hash ? "" : "none";
        }
        byId("tab-select").value = hash;
    }
    document.querySelectorAll("#tab-button a.TabButton").forEach(function (a) {
        a.addEventListener("click", function (ev) {
            ev.preventDefault();
            showTab(a.getAttribute("href"));
        });
    });
    byId("tab-select").addEventListener("change", function () { showTab(this.value); });

    // --- results table --------------------------------------------------------------
    var lastDivision = "t";

    function makeRow(row) {
        var tr = document.createElement("tr");
        tr.setAttribute("role", "row");
        // Ids repeat on every row, as on the real site: "more" = Parties, "re" = More.
        tr.innerHTML = (WET ? '<th scope="row" tabindex="0">' + esc(row.COURT_NO) + "</th>"
            : '<td tabindex="0">' + esc(row.COURT_NO) + "</td>") +
            "<td>" + esc(WET ? invisibles(row.STYLE_OF_CAUSE) : row.STYLE_OF_CAUSE) + "</td>" +
            "<td>" + esc(row.ENGLISH_NATURE_DESC) + "</td>" +
            '<td><button id="more" class="btn btn-xs"><i class="fa fa-search-plus" ' +
            'style="font-size:15px;color:green;"></i></button></td>' +
            '<td><button id="re" class="btn btn-xs"><i class="fa fa-search" ' +
            'style="font-size:15px;color:#000066;"></i></button></td>';
        tr.cells[3].firstChild.addEventListener("click", function () { openParties(row); });
        tr.cells[4].firstChild.addEventListener("click", function () { openDetails(row); });
        return tr;
    }

    var results = new dc.DataTable(byId("datatable"), makeRow);

    byId(SUBMIT_ID).addEventListener("click", function (ev) {
        ev.preventDefault();
        var number = byId(INPUT_ID).value;
        if (!number.trim()) { return; }
        lastDivision = byId("tab02selectCourt").value;
        getJSON("proceedingQueriesAddInfo", { division: lastDivision, courtnumber: number },
            function (rows) { results.setData(rows); },
            function () { results.setData([]); });  // the trap: an error looks like "no data"
    });

    byId("tab02Clear").addEventListener("click", function (ev) {
        ev.preventDefault();
        byId(INPUT_ID).value = "";
        if (results.wrapper) { results.setData([]); }
    });

    // --- details modal (Bootstrap 4, see bootstrap-lite.js) ---------------------------
    var modalCase = null;
    var details = new dc.Modal(byId("ModalForm"), {
        sticky: function () { return knob("stickyModalOn", modalCase); }
    });

    var TEMPLATE_BOX =
        '<div style="border: 1px solid black; border-radius: 10px; padding: 1em;">' +
        "<h4>Information about the court file </h4> " +
        '<p style="margin: 0;">The list below shows the documents recorded in this file. ' +
        "Some of them may be confidential.<br><br></p>" +
        '<div style="margin-left: 30px; padding: 0;"><p><strong><u>NEW</u></strong>: ' +
        "every document has an identification (ID) number. To ask the Registry for a copy, " +
        "give the court file number and the ID and name of each document, as below:</p>" +
        '<table class="table table-striped table-bordered" style="width:100%;"><thead><tr>' +
        '<th class="addlinfo">ID</th><th width="10%" class="addlinfo">Date Filed</th>' +
        '<th width="10%" class="addlinfo">Office</th>' +
        '<th class="addlinfo">Recorded Entry Summary</th>' +
        '<th width="10%" class="addlinfo">Download</th></tr></thead><tbody><tr>' +
        '<td class="addlinfo">#</td><td class="addlinfo">YYYY-MM-DD</td>' +
        '<td class="addlinfo">City</td><td class="addlinfo">Name of document</td>' +
        '<td class="addlinfo"> </td></tr></tbody></table></div>' +
        "<p>*Documents with an icon in the last column (<em>Download</em>) can be " +
        "downloaded.</p></div>";

    function field(label, value) {
        return "<strong>" + label + " :</strong> &nbsp;" + esc(value);
    }

    function docketTable(entries) {
        // The real docket: newest first (highest RE_NO first).
        entries = entries.slice().sort(function (a, b) { return b.RE_NO - a.RE_NO; });
        return '<div class="table-responsive"><table class="table table-striped table-bordered" ' +
            'style="width:100%;"><caption class="alignLeft" style="font-size:initial!important;">' +
            "Information about the court file</caption><thead><tr>" +
            '<th class="addlinfo">ID</th><th width="10%" class="addlinfo sorting_asc">Date Filed</th>' +
            '<th width="10%" class="addlinfo">Office</th>' +
            '<th class="addlinfo">Recorded Entry Summary</th>' +
            '<th width="10%" class="addlinfo">Download</th></tr></thead><tbody>' +
            entries.map(function (e) {
                var download = "";
                if (e.CAN_PUBLISH_DOCUMENT === "Y" && e.IS_CONFIDENTIAL === "N") {  // FACT
                    download = '<a href="' + API + "downloadFileFromAlfresco?foremostNum=" +
                        encodeURIComponent(e.FOREMOST_NUMBER) + '" target="_blank" ' +
                        'title="Download"><i class="fa fa-download"></i></a>';
                }
                return "<tr>" + (WET ? '<th scope="row" class="addlinfo">' + esc(e.RE_NO) + "</th>"
                    : '<td class="addlinfo">' + esc(e.RE_NO) + "</td>") +
                    '<td class="addlinfo">' + showDate(e.FILING_DATE) + "</td>" +
                    '<td class="addlinfo">' + esc(WET ? invisibles(e.ENGLISH_OFFICE_NAME)
                        : e.ENGLISH_OFFICE_NAME) + "</td>" +
                    '<td class="addlinfo">' + esc(e.RECORDED_ENTRY) + "</td>" +  // spaces too
                    '<td class="addlinfo">' + download + "</td></tr>";
            }).join("") + "</tbody></table></div>";
    }

    // GUESS: related files shown below the docket, as a table, only when there are any.
    function relatedTable(related) {
        if (!related || !related.length) { return ""; }
        return '<div class="related-files"><h4>Related court files</h4>' +
            '<table class="table table-striped table-bordered" style="width:100%;"><thead><tr>' +
            '<th class="addlinfo">Court Number</th><th class="addlinfo">Style of Cause</th>' +
            "</tr></thead><tbody>" + related.map(function (r) {
                return '<tr><td class="addlinfo">' + esc(r.RELATED_COURT_NO) + "</td>" +
                    '<td class="addlinfo">' + esc(r.STYLE_OF_CAUSE) + "</td></tr>";
            }).join("") + "</tbody></table></div>";
    }

    // A template docket hidden by class before the real one: a scraper must not take it.
    var HIDDEN_TEMPLATE = '<div class="table-responsive hidden"><table class="table">' +
        "<caption>Information about the court file</caption><thead><tr><th>ID</th>" +
        "<th>Date Filed</th><th>Office</th><th>Recorded Entry Summary</th><th>Download</th>" +
        "</tr></thead><tbody><tr><td>#</td><td>YYYY-MM-DD</td><td>City</td>" +
        "<td>Name of document</td><td></td></tr></tbody></table></div>";

    function wetBody(row, entries, related) {
        return '<div class="container-fluid"><div class="row"><div class="col-sm-6">' +
            // Helper text for screen readers only, with a value a person never sees.
            '<p class="text-left wb-inv">' + field("Office", "Ottawa") + "</p>" +
            '<p class="text-left"><strong>Type<span class="wb-inv"> of proceeding, see the ' +
            "guide</span> :</strong> &nbsp;" + esc(invisibles(row.ENGLISH_PROCEEDING_TYPE)) + "</p>" +
            '<p class="text-left">' + field("Nature of Proceeding", row.ENGLISH_NATURE_DESC) + "</p>" +
            '<dl class="dl-horizontal"><dt>Office</dt><dd>' + esc(row.ENGLISH_CITY_NAME) +
            "</dd><dt>Language</dt><dd>" + esc(row.ENGLISH_LANGUAGE_NAME) + "</dd></dl></div>" +
            '<div class="col-sm-6"><p class="text-left">' +
            field("Type of Action", row.ENGLISH_PROCEEDING_CLASS) + "</p>" +
            '<p class="text-left"><span>' + field("Filing Date", wetDate(row.FILE_DT)) +
            "</span></p></div></div></div>" + TEMPLATE_BOX + HIDDEN_TEMPLATE +
            docketTable(entries) + relatedTable(related);
    }

    function modalBody(row, entries, related) {
        if (WET) { return wetBody(row, entries, related); }
        return '<div class="container-fluid"><div class="row"><div class="col-sm-6">' +
            '<p class="text-left">' + field("Type", row.ENGLISH_PROCEEDING_TYPE) + "</p>" +
            '<p class="text-left">' + field("Nature of Proceeding", row.ENGLISH_NATURE_DESC) +
            "</p>" +
            '<p class="text-left"><span>' + field("Office", row.ENGLISH_CITY_NAME) +
            "</span> &nbsp;&nbsp;&nbsp; <span> <strong>Language :</strong>&nbsp; " +
            esc(row.ENGLISH_LANGUAGE_NAME) + "</span></p></div>" +
            '<div class="col-sm-6"><p class="text-left">' +
            field("Type of Action", row.ENGLISH_PROCEEDING_CLASS) + "</p>" +
            '<p class="text-left"><span>' + field("Filing Date", showDate(row.FILE_DT)) +
            "</span></p></div></div></div>" + TEMPLATE_BOX + docketTable(entries) +
            relatedTable(related);
    }

    // More asks the docket and (GUESS) the related files at once; the modal opens when
    // both have answered, without the related files if that request failed. On a docket
    // error the modal simply does not open.
    function openDetails(row) {
        if (knob("hangOn", row.COURT_NO)) {
            for (;;) { /* fault knob hang_on: the page freezes for good */ }
        }
        var entries = null, related = null, waiting = 2;
        function answered() {
            if (--waiting || entries === null) { return; }
            modalCase = row.COURT_NO;
            // The nested <h5> is what the real page produces.
            byId("modalTitle").innerHTML = "<h5>Recorded Entry Information :&nbsp;&nbsp; " +
                esc(row.COURT_NO) + "</h5>";
            byId("ModalForm").querySelector(".modal-body").innerHTML =
                modalBody(row, entries, related);
            if (knob("slowModalOn", row.COURT_NO)) {
                setTimeout(function () { details.show(); }, cfg.slowModalMs || 0);
            } else {
                details.show();  // ignored while the modal is still fading (Bootstrap)
            }
        }
        var params = { division: lastDivision, courtnumber: row.COURT_NO };
        getJSON("proceedingQueriesRE", params,
            function (rows) { entries = rows; answered(); }, answered);
        getJSON("RelatedListInfo", { courtnumber: row.COURT_NO },
            function (rows) { related = rows; answered(); }, answered);
    }

    window.PrintModal = function () { /* printing is not replicated */ };

    // --- parties dialog (popup.js) ----------------------------------------------------
    function openParties(row) {
        getJSON("PublicPartiesListInfo", { courtnumber: row.COURT_NO }, dc.showParties);
    }

    // --- e-filing popup: FACT seen popping up on load; the delay is a GUESS -----------
    if (cfg.efilingPopup) {
        var efiling = new dc.Modal(byId("EfilingModal"));
        setTimeout(function () { efiling.show(); }, cfg.efilingDelayMs || 0);
    }

    // --- consent banner (fault knob consent_banner; the server adds the markup) -------
    var accept = byId("consent-accept");
    if (accept) {
        accept.addEventListener("click", function () {
            document.cookie = "consent=1; path=/; max-age=31536000";
            var banner = byId("consent-banner");
            banner.parentNode.removeChild(banner);
        });
    }
}());
