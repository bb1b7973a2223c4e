"""Reports for people: ``report.html`` with charts, the board pack (CSVs and ``board_pack.xlsx``), GIS exports.

* :func:`geo_response.reporting.bundle.write_reports`: all of the below in one call;
* :func:`geo_response.reporting.html_report.write_report_html`: the chart page (inline SVG, no script);
* :func:`geo_response.reporting.board_pack.write_board_pack`: tidy CSVs and the Excel workbook;
* :func:`geo_response.reporting.gis.write_gis`: one GeoPackage with named layers.

Charts and maps share one colour-blind-safe palette (:mod:`geo_response.reporting.palette`).
"""
