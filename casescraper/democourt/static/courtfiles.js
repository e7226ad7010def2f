/* casescraper demo court: the page's script.
 *
 * The real portal uses jQuery, DataTables 1.10, Bootstrap 4 and jQuery UI. This plain
 * script reproduces the DOM those libraries leave behind for the parts a scraper uses
 * (results table, details modal, parties dialog, loading screen), not their code.
 *
 * Deliberate trap, as on the real site: when a request fails (HTTP 403/500) the page only
 * logs to the console, hides the loading screen and shows the empty table. A scraper
 * must watch request statuses, not the DOM, to tell "error" from "no data".
 *
 * Fault knobs arrive in window.DEMOCOURT_CONFIG (written by the server).
 */
(function () {
    "use strict";

    var cfg = window.DEMOCOURT_CONFIG || {};
    var INPUT_ID = cfg.inputId || "selectCourtNumber";
    var SUBMIT_ID = cfg.submitId || "tab02Submit";
    var EMPTY_ROW = '<tr class="odd"><td valign="top" colspan="5" class="dataTables_empty">' +
        'No data available in table</td></tr>';

    function byId(id) { return document.getElementById(id); }

    // Every value goes through esc(): names contain "&", "<" must never become markup.
    function esc(value) {
        return String(value === null || value === undefined ? "" : value)
            .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
            .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
    }

    // "/Date(1748563200000)/" -> "2025-05-30" (UTC, as the portal shows it)
    function showDate(value) {
        var m = /\/Date\((-?\d+)\)\//.exec(value || "");
        return m ? new Date(parseInt(m[1], 10)).toISOString().slice(0, 10) : "";
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
    function getJSON(path, params, onDone, onFail) {
        var query = Object.keys(params).map(function (k) {
            return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]);
        }).join("&");
        var xhr = new XMLHttpRequest();
        xhr.open("GET", path + "?" + query, true);
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
                    console.error("request failed: " + path + " status " + xhr.status);
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

    // --- results table (DataTables 1.10 markup) ---------------------------------------
    var lastDivision = "t";

    function setInfo(count) {
        byId("datatable_info").textContent = count ?
            "Showing 1 to " + count + " of " + count + " entries" : "Showing 0 to 0 of 0 entries";
    }

    function renderRows(rows) {
        var tbody = byId("datatable").tBodies[0];
        tbody.innerHTML = "";
        if (!rows.length) {
            tbody.innerHTML = EMPTY_ROW;
            setInfo(0);
            return;
        }
        rows.forEach(function (row, i) {
            var tr = document.createElement("tr");
            tr.setAttribute("role", "row");
            tr.className = i % 2 ? "even" : "odd";
            // Ids repeat on every row, as on the real site: "more" = Parties, "re" = More.
            tr.innerHTML = '<td tabindex="0">' + esc(row.COURT_NO) + "</td>" +
                "<td>" + esc(row.STYLE_OF_CAUSE) + "</td>" +
                "<td>" + esc(row.ENGLISH_NATURE_DESC) + "</td>" +
                '<td><button id="more" class="btn btn-xs"><i class="fa fa-search-plus" ' +
                'style="font-size:15px;color:green;"></i></button></td>' +
                '<td><button id="re" class="btn btn-xs"><i class="fa fa-search" ' +
                'style="font-size:15px;color:#000066;"></i></button></td>';
            tr.cells[3].firstChild.addEventListener("click", function () { openParties(row); });
            tr.cells[4].firstChild.addEventListener("click", function () { openDetails(row); });
            tbody.appendChild(tr);
        });
        setInfo(rows.length);
    }

    byId(SUBMIT_ID).addEventListener("click", function (ev) {
        ev.preventDefault();
        var number = byId(INPUT_ID).value;
        if (!number.trim()) { return; }
        lastDivision = byId("tab02selectCourt").value;
        getJSON("/CourtFilesAndDecisions/proceedingQueriesAddInfo",
            { division: lastDivision, courtnumber: number },
            renderRows,
            function () { renderRows([]); });  // the trap: an error looks like "no data"
    });

    byId("tab02Clear").addEventListener("click", function (ev) {
        ev.preventDefault();
        byId(INPUT_ID).value = "";
        renderRows([]);
    });

    // --- details modal (Bootstrap 4 markup, no animation) -----------------------------
    var modal = byId("ModalForm");
    var modalCase = null;
    var backdrop = null;

    function openModal() {
        if (modal.classList.contains("show")) { return; }
        backdrop = document.createElement("div");
        backdrop.className = "modal-backdrop fade show";
        document.body.appendChild(backdrop);
        document.body.classList.add("modal-open");
        document.body.setAttribute("style", "padding-right: 15px;");
        modal.setAttribute("style", "display: block; padding-right: 15px;");
        modal.removeAttribute("aria-hidden");
        modal.classList.add("show");
    }

    function closeModal() {
        if (!modal.classList.contains("show") || knob("stickyModalOn", modalCase)) { return; }
        modal.classList.remove("show");
        modal.setAttribute("style", "display: none;");
        modal.setAttribute("aria-hidden", "true");
        document.body.classList.remove("modal-open");
        document.body.setAttribute("style", "");
        if (backdrop) { backdrop.remove(); backdrop = null; }
    }

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

    function modalBody(row, entries) {
        var html = '<div class="container-fluid"><div class="row"><div class="col-sm-6">' +
            '<p class="text-left">' + field("Type", row.ENGLISH_PROCEEDING_TYPE) + "</p>" +
            '<p class="text-left">' + field("Nature of Proceeding", row.ENGLISH_NATURE_DESC) +
            "</p>" +
            '<p class="text-left"><span>' + field("Office", row.ENGLISH_CITY_NAME) +
            "</span> &nbsp;&nbsp;&nbsp; <span> <strong>Language :</strong>&nbsp; " +
            esc(row.ENGLISH_LANGUAGE_NAME) + "</span></p></div>" +
            '<div class="col-sm-6"><p class="text-left">' +
            field("Type of Action", row.ENGLISH_PROCEEDING_CLASS) + "</p>" +
            '<p class="text-left"><span>' + field("Filing Date", showDate(row.FILE_DT)) +
            "</span></p></div></div></div>" + TEMPLATE_BOX;
        // The real docket: newest first (highest RE_NO first).
        entries = entries.slice().sort(function (a, b) { return b.RE_NO - a.RE_NO; });
        html += '<div class="table-responsive"><table class="table table-striped table-bordered" ' +
            'style="width:100%;"><caption class="alignLeft" style="font-size:initial!important;">' +
            "Information about the court file</caption><thead><tr>" +
            '<th class="addlinfo">ID</th><th width="10%" class="addlinfo sorting_asc">Date Filed</th>' +
            '<th width="10%" class="addlinfo">Office</th>' +
            '<th class="addlinfo">Recorded Entry Summary</th>' +
            '<th width="10%" class="addlinfo">Download</th></tr></thead><tbody>';
        entries.forEach(function (e) {
            var download = "";
            if (e.CAN_PUBLISH_DOCUMENT === "Y" && e.IS_CONFIDENTIAL === "N") {
                download = '<a href="/CourtFilesAndDecisions/downloadFileFromAlfresco?foremostNum=' +
                    encodeURIComponent(e.FOREMOST_NUMBER) + '" target="_blank" title="Download">' +
                    '<i class="fa fa-download"></i></a>';
            }
            html += '<tr><td class="addlinfo">' + esc(e.RE_NO) + "</td>" +
                '<td class="addlinfo">' + showDate(e.FILING_DATE) + "</td>" +
                '<td class="addlinfo">' + esc(e.ENGLISH_OFFICE_NAME) + "</td>" +
                '<td class="addlinfo">' + esc(e.RECORDED_ENTRY) + "</td>" +  // as sent, spaces too
                '<td class="addlinfo">' + download + "</td></tr>";
        });
        return html + "</tbody></table></div>";
    }

    function openDetails(row) {
        if (knob("hangOn", row.COURT_NO)) {
            for (;;) { /* fault knob hang_on: the page freezes for good */ }
        }
        getJSON("/CourtFilesAndDecisions/proceedingQueriesRE",
            { division: lastDivision, courtnumber: row.COURT_NO },
            function (entries) {
                modalCase = row.COURT_NO;
                // The nested <h5> is what the real page produces.
                byId("modalTitle").innerHTML = "<h5>Recorded Entry Information :&nbsp;&nbsp; " +
                    esc(row.COURT_NO) + "</h5>";
                modal.querySelector(".modal-body").innerHTML = modalBody(row, entries);
                if (knob("slowModalOn", row.COURT_NO)) {
                    setTimeout(openModal, cfg.slowModalMs || 0);
                } else {
                    openModal();
                }
            });  // on error the modal simply does not open
    }

    // Any [data-dismiss="modal"] closes; so does a click on the dimmed area around the
    // dialog (Bootstrap's backdrop click) and Escape. sticky_modal_on disables all three.
    document.addEventListener("click", function (ev) {
        if (ev.target.closest('[data-dismiss="modal"]') || ev.target === modal) {
            closeModal();
        }
    });

    window.PrintModal = function () { /* printing is not replicated */ };

    // --- parties dialog (imitates jQuery UI's dialog) ---------------------------------
    // The real dialog's filled-in content was never captured (SITE.md): the title bar is
    // jQuery UI's standard markup, the table inside #popup_body_desc is OUR invention.
    var dialog = byId("dialog");
    var uiDialog = null;

    function closeDialog() {
        if (!uiDialog || uiDialog.style.display === "none") { return; }
        uiDialog.style.display = "none";
        dialog.style.display = "none";
    }

    function wrapDialog() {  // jQuery UI moves #dialog into its widget on first use
        uiDialog = document.createElement("div");
        uiDialog.className = "ui-dialog ui-corner-all ui-widget ui-widget-content ui-front";
        uiDialog.setAttribute("tabindex", "-1");
        uiDialog.setAttribute("role", "dialog");
        uiDialog.setAttribute("aria-describedby", "dialog");
        uiDialog.setAttribute("aria-labelledby", "ui-id-1");
        uiDialog.innerHTML = '<div class="ui-dialog-titlebar ui-corner-all ui-widget-header ' +
            'ui-helper-clearfix"><span id="ui-id-1" class="ui-dialog-title">Parties</span>' +
            '<button type="button" class="ui-button ui-corner-all ui-widget ' +
            'ui-button-icon-only ui-dialog-titlebar-close" title="Close">' +
            '<span class="ui-button-icon ui-icon ui-icon-closethick"></span>' +
            '<span class="ui-button-icon-space"> </span>Close</button></div>';
        dialog.className = "ui-dialog-content ui-widget-content";
        uiDialog.appendChild(dialog);
        document.body.appendChild(uiDialog);
        uiDialog.querySelector(".ui-dialog-titlebar-close").addEventListener("click", closeDialog);
    }

    function openParties(row) {
        getJSON("/CourtFilesAndDecisions/PublicPartiesListInfo", { courtnumber: row.COURT_NO },
            function (parties) {
                var html = '<table class="table" id="partiesTable"><thead><tr>' +
                    "<th>Party Name</th><th>Role</th><th>Solicitor Firm</th>" +
                    "<th>Solicitor Contact</th></tr></thead><tbody>";
                parties.forEach(function (p) {
                    html += "<tr><td>" + esc(p.PARTY_NAME) + "</td><td>" + esc(p.PARTY_ROLE) +
                        "</td><td>" + esc(p.SOLCTR_FIRM) + "</td><td>" + esc(p.SOLCTR_CONTACT) +
                        "</td></tr>";
                });
                byId("popup_body_desc").innerHTML = html + "</tbody></table>";
                if (!uiDialog) { wrapDialog(); }
                dialog.style.display = "block";
                uiDialog.style.display = "block";
            });
    }

    document.addEventListener("keydown", function (ev) {
        if (ev.key === "Escape") { closeModal(); closeDialog(); }
    });

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
