/* casescraper demo court: the parties dialog, in the shape knob parties_ui asks for.
 *
 * FACTS (SITE.md): the page holds div#dialog > div#popup_body_desc, hidden; the portal's
 * own /Content/js/base/popup.js fills and shows it; the page loads NO jQuery UI; the data is
 * PublicPartiesListInfo's PARTY_NAME, SOLCTR_FIRM, SOLCTR_CONTACT (no role).
 * GUESSES: everything else, i.e. the shapes below and the table inside #popup_body_desc
 * (header cells Name / Solicitor Firm / Solicitor Contact, one row per party).
 *   popup     #dialog.dc-popup shown in place (fixed box), a div.popup_header with the
 *             title and button.popup-close (aria-label "Close", text ×) first in #dialog
 *   jqueryui  jQuery UI's widget: #dialog moved into div.ui-dialog with a title bar and
 *             button.ui-dialog-titlebar-close
 *   bootstrap #dialog moved into the .modal-body of div#partiesModal.modal.fade (title
 *             "Parties", button.close[data-dismiss=modal] and a footer Close button)
 *   escape    #dialog.dc-popup shown in place, no button: closed only by Escape (any
 *             keydown whose key is Escape or keyCode 27) or a click outside it
 */
(function () {
    "use strict";

    var cfg = window.DEMOCOURT_CONFIG || {};
    var SHAPE = cfg.partiesUi || "popup";
    var dialog = document.getElementById("dialog");
    var body = document.getElementById("popup_body_desc");
    var built = false;
    var widget = null;  // jqueryui: the div.ui-dialog; bootstrap: the Modal

    function esc(value) {
        return String(value === null || value === undefined ? "" : value)
            .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
            .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
    }

    function table(parties) {
        return '<table class="table table-striped table-bordered" id="partiesTable"><thead><tr>' +
            "<th>Name</th><th>Solicitor Firm</th><th>Solicitor Contact</th></tr></thead><tbody>" +
            parties.map(function (p) {
                return "<tr><td>" + esc(p.PARTY_NAME) + "</td><td>" + esc(p.SOLCTR_FIRM) +
                    "</td><td>" + esc(p.SOLCTR_CONTACT) + "</td></tr>";
            }).join("") + "</tbody></table>";
    }

    function isOpen() {
        if (SHAPE === "jqueryui") { return !!widget && widget.style.display !== "none"; }
        if (SHAPE === "bootstrap") { return !!widget && widget.isShown; }
        return dialog.style.display !== "none";
    }

    function close() {
        if (!isOpen()) { return; }
        if (SHAPE === "bootstrap") { widget.hide(); return; }
        if (widget) { widget.style.display = "none"; }
        dialog.style.display = "none";
    }

    function build() {
        built = true;
        if (SHAPE === "popup") {
            dialog.className = "dc-popup";
            dialog.insertAdjacentHTML("afterbegin", '<div class="popup_header">' +
                '<span class="popup_title">Parties</span><button type="button" ' +
                'class="popup-close" aria-label="Close" title="Close">×</button></div>');
            dialog.querySelector(".popup-close").addEventListener("click", close);
        } else if (SHAPE === "escape") {
            dialog.className = "dc-popup";
            document.addEventListener("keydown", function (ev) {
                if (ev.key === "Escape" || ev.key === "Esc" || ev.keyCode === 27) { close(); }
            });
            document.addEventListener("click", function (ev) {
                if (isOpen() && !dialog.contains(ev.target)) { close(); }
            });
        } else if (SHAPE === "jqueryui") {  // jQuery UI moves #dialog into its widget
            widget = document.createElement("div");
            widget.className = "ui-dialog ui-corner-all ui-widget ui-widget-content ui-front";
            widget.setAttribute("tabindex", "-1");
            widget.setAttribute("role", "dialog");
            widget.setAttribute("aria-describedby", "dialog");
            widget.setAttribute("aria-labelledby", "ui-id-1");
            widget.innerHTML = '<div class="ui-dialog-titlebar ui-corner-all ui-widget-header ' +
                'ui-helper-clearfix"><span id="ui-id-1" class="ui-dialog-title">Parties</span>' +
                '<button type="button" class="ui-button ui-corner-all ui-widget ' +
                'ui-button-icon-only ui-dialog-titlebar-close" title="Close">' +
                '<span class="ui-button-icon ui-icon ui-icon-closethick"></span>' +
                '<span class="ui-button-icon-space"> </span>Close</button></div>';
            dialog.className = "ui-dialog-content ui-widget-content";
            widget.appendChild(dialog);
            document.body.appendChild(widget);
            widget.querySelector(".ui-dialog-titlebar-close").addEventListener("click", close);
        } else {  // bootstrap
            var modal = document.createElement("div");
            modal.className = "modal fade";
            modal.id = "partiesModal";
            modal.setAttribute("tabindex", "-1");
            modal.setAttribute("role", "dialog");
            modal.setAttribute("aria-labelledby", "partiesModalTitle");
            modal.setAttribute("aria-hidden", "true");
            modal.innerHTML = '<div class="modal-dialog modal-lg" role="document">' +
                '<div class="modal-content"><div class="modal-header">' +
                '<h5 class="modal-title" id="partiesModalTitle">Parties</h5>' +
                '<button type="button" class="close" data-dismiss="modal" aria-label="Close">' +
                '<span aria-hidden="true">×</span></button></div><div class="modal-body"></div>' +
                '<div class="modal-footer"><button type="button" class="btn btn-secondary" ' +
                'data-dismiss="modal">Close</button></div></div></div>';
            modal.querySelector(".modal-body").appendChild(dialog);
            document.body.appendChild(modal);
            widget = new window.democourt.Modal(modal);
        }
    }

    // Called by the page's script with the PublicPartiesListInfo rows.
    function showParties(parties) {
        if (!built) { build(); }
        body.innerHTML = table(parties);
        dialog.style.display = "block";
        if (SHAPE === "jqueryui") { widget.style.display = "block"; }
        if (SHAPE === "bootstrap") { widget.show(); }
    }

    window.democourt = window.democourt || {};
    window.democourt.showParties = showParties;
}());
