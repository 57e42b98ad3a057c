// The Open311 API's documentation page: Swagger UI (vendored) renders the OpenAPI document
// whose URL the page carries in data-document; a script file, as the CSP allows no inline script.
window.addEventListener("DOMContentLoaded", function () {
  var holder = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: holder.dataset.document,
    domNode: holder,
    deepLinking: true,
    tryItOutEnabled: false,
    validatorUrl: null, // no badge fetched from another site
  });
});
