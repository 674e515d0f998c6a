// Starts Swagger UI (swagger-ui-bundle.js, loaded just before this file) on
// the gateway's OpenAPI document. It is a file of its own, not an inline
// script, because the page's Content-Security-Policy allows scripts from
// 'self' only.
(() => {
  'use strict';
  const root = document.getElementById('swagger-ui');
  SwaggerUIBundle({
    domNode: root,
    url: root.dataset.specUrl || '/openapi.json',
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    // #/Order/CreateOrder links straight to an operation
    deepLinking: true,
    // the bearer token given under Authorize survives a reload (localStorage)
    persistAuthorization: true,
    // every operation's form is editable at once, with its Execute button
    tryItOutEnabled: true,
    displayOperationId: true,
    displayRequestDuration: true,
    // a box to narrow the operations down by tag
    filter: true,
    // an opened schema shows its properties with their types (and an enum's
    // values a click away) instead of a row of folded [...]: in operations
    // (Model) and under Schemas (Models; the list itself stays folded)
    defaultModelExpandDepth: 2,
    defaultModelsExpandDepth: 2,
    // minLength, maxLength, pattern… of parameters such as Idempotency-Key
    showCommonExtensions: true,
    // no badge that sends the document to validator.swagger.io
    validatorUrl: null,
  });
})();
