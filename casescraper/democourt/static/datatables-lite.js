/* casescraper demo court: the DOM DataTables 1.10 (+ Buttons, bootstrap4 styling) builds
 * around table#datatable, and its client-side behaviour.
 *
 * FACTS (captures searchpage.html / search-result.html, DataTables 1.10 defaults):
 * - before the first search the table is bare: no thead, no tbody, no wrapper;
 * - after it: div#datatable_wrapper.dataTables_wrapper.dt-bootstrap4.no-footer holding
 *   div.dt-buttons.btn-group (Show 10, Copy, Excel, PDF, Print), div#datatable_filter
 *   (label "Search:" and a second input[type=search] that filters the rows shown), the
 *   table, div#datatable_info ("Showing 1 to 1 of 1 entries") and div#datatable_paginate
 *   (Previous, page numbers, Next; 10 rows a page);
 * - no rows: td.dataTables_empty "No data available in table"; rows all filtered out:
 *   "No matching records found" and "(filtered from N total entries)" in the info.
 * GUESSES: the buttons do nothing here; a new search keeps the filter's text (as
 * clear().rows.add().draw() does) and goes back to page 1.
 */
(function () {
    "use strict";

    var PAGE = 10;
    var HEAD = '<thead><tr role="row">' +
        ["Court Number", "Style of Cause", "Nature of Proceeding"].map(function (name) {
            return '<th class="sorting" tabindex="0" aria-controls="datatable" rowspan="1" ' +
                'colspan="1" aria-label="' + name + ': activate to sort column ascending">' +
                name + "</th>";
        }).join("") +
        ["Parties", "More"].map(function (name) {
            return '<th class="sorting_disabled" rowspan="1" colspan="1" aria-label="' + name +
                '">' + name + "</th>";
        }).join("") + "</tr></thead>";
    var BUTTONS = '<div class="dt-buttons btn-group">          ' + [
        ["buttons-collection dropdown-toggle buttons-page-length", "Show 10", ' aria-haspopup="true"'],
        ["buttons-copy buttons-html5", "Copy", ""],
        ["buttons-excel buttons-html5", "Excel", ' title="Excel"'],
        ["buttons-pdf buttons-html5", "PDF", ' title="PDF"'],
        ["buttons-print", "Print", ' title="Print"']
    ].map(function (b) {
        return '<button class="btn btn-secondary ' + b[0] + '" tabindex="0" aria-controls="datatable" ' +
            'type="button"' + b[2] + "><span>" + b[1] + "</span></button>";
    }).join(" ") + " </div>";
    var FILTER = '<div id="datatable_filter" class="dataTables_filter"><label>Search:<input ' +
        'type="search" class="form-control form-control-sm" placeholder="" ' +
        'aria-controls="datatable"></label></div>';

    function el(html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        return holder.firstChild;
    }

    // table: the bare table; makeRow(data, i) -> <tr> with its listeners.
    function DataTable(table, makeRow) {
        this.table = table;
        this.makeRow = makeRow;
        this.rows = [];  // <tr> per data row, made once per setData
        this.page = 0;
        this.wrapper = null;
    }

    DataTable.prototype.init = function () {
        var t = this.table, self = this;
        var wrapper = this.wrapper = el('<div id="datatable_wrapper" ' +
            'class="dataTables_wrapper dt-bootstrap4 no-footer"></div>');
        t.parentNode.insertBefore(wrapper, t);
        wrapper.appendChild(el(BUTTONS));
        this.filter = wrapper.appendChild(el(FILTER)).querySelector("input");
        wrapper.appendChild(t);
        t.className += " no-footer dtr-inline dataTable";
        t.setAttribute("style", "width: 100%;");
        t.setAttribute("role", "grid");
        t.setAttribute("aria-describedby", "datatable_info");
        t.innerHTML = HEAD + "<tbody></tbody>";
        this.info = wrapper.appendChild(el('<div class="dataTables_info" id="datatable_info" ' +
            'role="status" aria-live="polite"></div>'));
        this.paginate = wrapper.appendChild(el('<div class="dataTables_paginate ' +
            'paging_simple_numbers" id="datatable_paginate"><ul class="pagination"></ul></div>'));
        ["input", "keyup", "search"].forEach(function (type) {
            self.filter.addEventListener(type, function () {
                if (self.filter.value !== self.lastTerm) { self.page = 0; self.draw(); }
            });
        });
        this.paginate.addEventListener("click", function (ev) {
            var a = ev.target.closest("a.page-link");
            if (!a) { return; }
            ev.preventDefault();
            var li = a.parentNode, to = a.getAttribute("data-page");
            if (li.classList.contains("disabled") || li.classList.contains("active")) { return; }
            self.page = to === "previous" ? self.page - 1 : to === "next" ? self.page + 1 : +to;
            self.draw();
        });
    };

    DataTable.prototype.setData = function (data) {
        if (!this.wrapper) { this.init(); }
        var self = this;
        this.rows = data.map(function (row, i) { return self.makeRow(row, i); });
        this.page = 0;
        this.draw();
    };

    DataTable.prototype.matching = function () {
        var words = this.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
        return this.rows.filter(function (tr) {
            var text = tr.textContent.toLowerCase();
            return words.every(function (w) { return text.indexOf(w) >= 0; });
        });
    };

    DataTable.prototype.draw = function () {
        this.lastTerm = this.filter.value;
        var shown = this.matching(), total = this.rows.length;
        var pages = Math.ceil(shown.length / PAGE);
        this.page = Math.max(0, Math.min(this.page, pages - 1));
        var start = this.page * PAGE, end = Math.min(start + PAGE, shown.length);
        var tbody = this.table.tBodies[0];
        tbody.innerHTML = "";
        if (!shown.length) {
            tbody.innerHTML = '<tr class="odd"><td valign="top" colspan="5" class="dataTables_empty">' +
                (total ? "No matching records found" : "No data available in table") + "</td></tr>";
        }
        shown.slice(start, end).forEach(function (tr, i) {
            tr.className = i % 2 ? "even" : "odd";
            tbody.appendChild(tr);
        });
        this.info.textContent = "Showing " + (shown.length ? start + 1 : 0) + " to " + end +
            " of " + shown.length + " entries" +
            (shown.length < total ? " (filtered from " + total + " total entries)" : "");
        this.drawPages(pages);
    };

    // DataTables' "simple_numbers": at most 7 buttons, with ellipses.
    DataTable.prototype.drawPages = function (pages) {
        var p = this.page, list = [];
        if (pages <= 7) {
            for (var i = 0; i < pages; i++) { list.push(i); }
        } else if (p < 4) {
            list = [0, 1, 2, 3, 4, "…", pages - 1];
        } else if (p >= pages - 4) {
            list = [0, "…", pages - 5, pages - 4, pages - 3, pages - 2, pages - 1];
        } else {
            list = [0, "…", p - 1, p, p + 1, "…", pages - 1];
        }
        var idx = 0;
        function item(cls, id, page, label) {
            return '<li class="paginate_button page-item ' + cls + '"' + (id ? ' id="' + id + '"' : "") +
                '><a href="#" aria-controls="datatable" data-dt-idx="' + (idx++) + '" tabindex="0" ' +
                'class="page-link" data-page="' + page + '">' + label + "</a></li>";
        }
        var html = item("previous" + (p === 0 || !pages ? " disabled" : ""), "datatable_previous",
            "previous", "Previous");
        list.forEach(function (n) {
            html += n === "…" ? item("disabled", "datatable_ellipsis", "", "…")
                : item(n === p ? "active" : "", "", n, n + 1);
        });
        html += item("next" + (p >= pages - 1 ? " disabled" : ""), "datatable_next", "next", "Next");
        this.paginate.firstChild.innerHTML = html;
    };

    window.democourt = window.democourt || {};
    window.democourt.DataTable = DataTable;
}());
