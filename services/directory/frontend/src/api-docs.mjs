// Swagger UI over the directory's own OpenAPI document; served locally, no network beyond this site.
const root = document.getElementById("swagger-ui");
root.replaceChildren();
window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  validatorUrl: null,
  tryItOutEnabled: true,
});
