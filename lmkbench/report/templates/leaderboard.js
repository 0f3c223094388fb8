document.querySelectorAll("#lb th").forEach(function (th) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], col = th.cellIndex;
    var asc = th.dataset.dir ? th.dataset.dir !== "asc" : th.dataset.first === "asc";
    th.parentNode.querySelectorAll("th").forEach(function (o) { delete o.dataset.dir; });
    th.dataset.dir = asc ? "asc" : "desc";
    var key = function (row) { var v = row.cells[col].dataset.v; return v === "" ? null : (isNaN(+v) ? v : +v); };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === null || y === null) return (x === null) - (y === null);
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
  });
});
