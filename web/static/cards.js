// Tables become cards at phone width (portal.css): a cell without its own data-label takes its
// column's heading, so that each card reads "名称：值". Progressive: without JavaScript the cards
// still show every value, only without the names.
document.querySelectorAll("table").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  if (!heads.length) return;
  table.querySelectorAll("tbody tr").forEach(function (row) {
    var cells = row.children;
    for (var i = 0; i < cells.length && i < heads.length; i++) {
      var name = heads[i].textContent.replace(/\s+/g, " ").trim();
      if (name && !cells[i].hasAttribute("data-label") && !cells[i].hasAttribute("colspan")) {
        cells[i].setAttribute("data-label", name);
      }
    }
  });
});
