// The report's interactive eDISH (inlined into each page: no network). Each point is an SVG circle with
// data-key, data-alt, data-tbil, data-alt-date, data-tbil-date, data-quadrant and data-new. Hover shows the
// point's key, peaks and dates; a click draws that patient's trajectory (from the page's
// <script type="application/json" id="edish-trajectories">) below the plot; the checkboxes filter points by
// quadrant and to the day's new cases.
(function () {
  "use strict";
  var figure = document.getElementById("edish");
  if (!figure) return;
  var tip = document.getElementById("edish-tip");
  var panel = document.getElementById("edish-trajectory");
  var source = document.getElementById("edish-trajectories");
  var series = source ? JSON.parse(source.textContent) : {};
  var points = figure.querySelectorAll("circle[data-key]");

  var quadrants = {potential_hys_law: "potential Hy's law", temples_corollary: "Temple's corollary",
    hyperbilirubinaemia: "hyperbilirubinaemia", normal_range: "normal range"};

  function fmt(v) { return Number(v).toFixed(2); }

  function describe(p) {
    return p.dataset.key + " | peak ALT " + fmt(p.dataset.alt) + " x ULN on " + p.dataset.altDate +
      " | peak TBIL " + fmt(p.dataset.tbil) + " x ULN on " + p.dataset.tbilDate +
      " | " + (quadrants[p.dataset.quadrant] || p.dataset.quadrant) + (p.dataset.new === "1" ? " | new case" : "");
  }

  function svgElement(name, attributes, text) {
    var el = document.createElementNS("http://www.w3.org/2000/svg", name);
    for (var k in attributes) el.setAttribute(k, attributes[k]);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function drawTrajectory(key) {
    panel.innerHTML = "";
    var data = series[key];
    var heading = document.createElement("p");
    heading.className = "trajectory-title";
    if (!data) {
      heading.textContent = key + ": no trajectory in this page (shown for potential Hy's law, Temple's " +
        "corollary and new cases); see marts.lab_results.";
      panel.appendChild(heading);
      return;
    }
    heading.textContent = "Trajectory of " + key + " (x ULN, log scale)";
    panel.appendChild(heading);
    var width = 520, height = 220, left = 40, right = 90, top = 10, bottom = 30;
    var svg = svgElement("svg", {width: width, height: height, role: "img", "data-trajectory": key});
    var days = [], low = 0.1, high = 1;
    Object.keys(data).forEach(function (analyte) {
      data[analyte].forEach(function (point) {
        days.push(Date.parse(point[0]));
        high = Math.max(high, point[1]);
      });
    });
    var first = Math.min.apply(null, days), last = Math.max.apply(null, days);
    var span = Math.max(last - first, 24 * 3600 * 1000);
    function x(day) { return left + (width - left - right) * (Date.parse(day) - first) / span; }
    function y(v) {
      var share = (Math.log10(Math.max(v, low)) - Math.log10(low)) / (Math.log10(high * 1.2) - Math.log10(low));
      return height - bottom - (height - top - bottom) * share;
    }
    svg.appendChild(svgElement("line", {x1: left, x2: width - right, y1: y(1), y2: y(1), stroke: "#999",
      "stroke-dasharray": "3 3"}));
    svg.appendChild(svgElement("text", {x: left - 4, y: y(1) + 4, "text-anchor": "end", "font-size": 10}, "ULN"));
    var colours = {ALT: "#d62728", AST: "#ff7f0e", ALP: "#2ca02c", TBIL: "#9467bd"};
    var row = 0;
    Object.keys(data).forEach(function (analyte) {
      var path = data[analyte].map(function (p, i) {
        return (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1);
      }).join(" ");
      svg.appendChild(svgElement("path", {d: path, fill: "none", stroke: colours[analyte] || "#333",
        "stroke-width": 1.5, "data-analyte": analyte}));
      data[analyte].forEach(function (p) {
        svg.appendChild(svgElement("circle", {cx: x(p[0]), cy: y(p[1]), r: 2.5, fill: colours[analyte] || "#333"}));
      });
      svg.appendChild(svgElement("text", {x: width - right + 8, y: top + 12 + 14 * row++, "font-size": 11,
        fill: colours[analyte] || "#333"}, analyte));
    });
    svg.appendChild(svgElement("text", {x: left, y: height - 8, "font-size": 10},
      new Date(first).toISOString().slice(0, 10)));
    svg.appendChild(svgElement("text", {x: width - right, y: height - 8, "font-size": 10, "text-anchor": "end"},
      new Date(last).toISOString().slice(0, 10)));
    panel.appendChild(svg);
  }

  points.forEach(function (p) {
    p.style.cursor = "pointer";
    p.addEventListener("mouseenter", function () { tip.textContent = describe(p); });
    p.addEventListener("mouseleave", function () { tip.textContent = tip.dataset.idle; });
    p.addEventListener("click", function () { drawTrajectory(p.dataset.key); });
  });

  function applyFilters() {
    var wanted = {};
    figure.querySelectorAll("input[data-quadrant]").forEach(function (box) {
      wanted[box.dataset.quadrant] = box.checked;
    });
    var onlyNew = figure.querySelector("input[data-filter='new']").checked;
    var shown = 0;
    points.forEach(function (p) {
      var visible = wanted[p.dataset.quadrant] !== false && (!onlyNew || p.dataset.new === "1");
      p.style.display = visible ? "" : "none";
      if (visible) shown++;
    });
    figure.querySelector("[data-shown]").textContent = shown;
  }
  figure.querySelectorAll("input").forEach(function (box) { box.addEventListener("change", applyFilters); });
  applyFilters();
})();
