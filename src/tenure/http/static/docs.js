// The API docs page (/api/docs): Swagger UI served by tenure itself. A file, not an inline
// script, because tenure's Content-Security-Policy allows scripts only from this server.
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  if (typeof SwaggerUIBundle === "undefined") {
    return; // the page already says how to install Swagger UI
  }
  SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
  });
});
