/* casescraper demo court: Bootstrap 4's modal, reduced to the behaviour a scraper meets.
 *
 * FACTS (Bootstrap 4.1 modal.js, the version era of the real page's *.bootstrap4 files):
 * - show(): body.modal-open; a div.modal-backdrop.fade is appended, reflowed, gets "show";
 *   after the backdrop's transition (150 ms) the modal gets display:block, is reflowed and
 *   only then gets class "show"; after the dialog's transition (300 ms) it takes the focus.
 * - hide(): class "show" goes at once; display:none only after the fade-out; then the
 *   backdrop fades out (150 ms) and is removed, and body loses modal-open.
 * - show() AND hide() called while a transition runs are IGNORED (`_isTransitioning`).
 * - [data-dismiss="modal"] inside the modal, a click on the modal's own element (the dimmed
 *   area around the dialog) and Escape (keydown with which/keyCode 27, bound on the modal
 *   element: it reaches the modal only from the focus inside it) close it.
 * - No aria-modal attribute (added in 4.2; the captures have none).
 * Knob fade_ms: the modal's transition (default 300), the backdrop's is half; 0 = instant.
 */
(function () {
    "use strict";

    var cfg = window.DEMOCOURT_CONFIG || {};
    var FADE = cfg.fadeMs === undefined ? 300 : cfg.fadeMs;
    var BACKDROP = Math.round(FADE / 2);
    var shown = [];  // modals shown, last on top

    document.documentElement.style.setProperty("--dc-fade", FADE + "ms");
    document.documentElement.style.setProperty("--dc-backdrop", BACKDROP + "ms");

    function reflow(el) { return el.offsetHeight; }

    function Modal(el, options) {
        this.el = el;
        this.options = options || {};
        this.isShown = false;
        this.transitioning = false;
        this.backdrop = null;
        el.dcModal = this;
        var self = this;
        el.addEventListener("keydown", function (ev) {
            if (ev.which === 27 || ev.keyCode === 27) {
                ev.preventDefault();
                self.hide();
            }
        });
    }

    Modal.prototype.fades = function () {
        return FADE > 0 && this.el.classList.contains("fade");
    };

    Modal.prototype.show = function () {
        if (this.isShown || this.transitioning) { return; }
        var self = this;
        this.transitioning = this.fades();
        this.isShown = true;
        shown.push(this);
        document.body.classList.add("modal-open");
        document.body.style.paddingRight = "15px";  // scrollbar compensation, as captured
        var backdrop = this.backdrop = document.createElement("div");
        backdrop.className = "modal-backdrop" + (this.fades() ? " fade" : "");
        document.body.appendChild(backdrop);
        if (this.fades()) { reflow(backdrop); }
        backdrop.classList.add("show");
        if (this.fades()) {
            setTimeout(function () { self.showElement(); }, BACKDROP);
        } else {
            this.showElement();
        }
    };

    Modal.prototype.showElement = function () {
        var self = this;
        this.el.setAttribute("style", "display: block; padding-right: 15px;");
        this.el.removeAttribute("aria-hidden");
        this.el.scrollTop = 0;
        if (this.fades()) { reflow(this.el); }
        this.el.classList.add("show");
        var complete = function () {
            self.el.focus();
            self.transitioning = false;
        };
        if (this.fades()) { setTimeout(complete, FADE); } else { complete(); }
    };

    Modal.prototype.hide = function () {
        if (!this.isShown || this.transitioning) { return; }
        if (this.options.sticky && this.options.sticky()) { return; }  // fault knob
        var self = this;
        this.isShown = false;
        this.transitioning = this.fades();
        this.el.classList.remove("show");
        if (this.fades()) {
            setTimeout(function () { self.hideElement(); }, FADE);
        } else {
            this.hideElement();
        }
    };

    Modal.prototype.hideElement = function () {
        var self = this;
        this.el.setAttribute("style", "display: none;");
        this.el.setAttribute("aria-hidden", "true");
        this.transitioning = false;
        shown.splice(shown.indexOf(this), 1);
        var backdrop = this.backdrop;
        this.backdrop = null;
        var removed = function () {
            if (backdrop && backdrop.parentNode) { backdrop.parentNode.removeChild(backdrop); }
            if (!shown.length) {
                document.body.classList.remove("modal-open");
                document.body.style.paddingRight = "";
            }
            if (self.options.onHidden) { self.options.onHidden(); }
        };
        if (!backdrop) { removed(); return; }
        backdrop.classList.remove("show");
        if (this.fades()) { setTimeout(removed, BACKDROP); } else { removed(); }
    };

    // One listener for every modal: a dismiss button closes ITS modal; a click on the
    // modal element itself (outside its dialog) is Bootstrap's backdrop click.
    document.addEventListener("click", function (ev) {
        var target = ev.target;
        if (!(target instanceof Element)) { return; }
        var dismiss = target.closest('[data-dismiss="modal"]');
        var modal = dismiss ? dismiss.closest(".modal") : target;
        if (modal && modal.dcModal && (dismiss || target === modal)) {
            modal.dcModal.hide();
        }
    });

    window.democourt = window.democourt || {};
    window.democourt.Modal = Modal;
}());
