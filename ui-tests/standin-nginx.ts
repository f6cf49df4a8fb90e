// TEST STAND-IN for jupyter-server-proxy, as nginx configuration (the README's nginx route):
// the pieces the hub tests and the image tests share.

/**
 * The internal location that asks a Jupyter server whose request this is: `apiMe` is its
 * /api/me, which answers 200 only for a valid cookie or token of that server's user.
 */
export function authLocation(apiMe: string, indent = '    '): string {
  return [
    'location = /_desktops_auth {',
    '    internal;',
    `    proxy_pass ${apiMe};`,
    '    proxy_pass_request_body off;',
    '    proxy_set_header Content-Length "";',
    '    proxy_set_header Host $http_host;',
    '    proxy_set_header Upgrade "";',
    '    proxy_set_header Connection "";',
    '    # The question is whose cookie this is; the desktops service checks Origin itself',
    "    # (Jupyter's own check here would turn a mismatch into nginx's bare 500).",
    '    proxy_set_header Origin "";',
    '}'
  ]
    .map(l => indent + l)
    .join('\n');
}

/** The lines that pass a request on, WebSocket upgrades and long-lived streams included. */
export function passOn(indent = '    '): string {
  return [
    'proxy_http_version 1.1;',
    'proxy_set_header Host $http_host;',
    'proxy_set_header Upgrade $http_upgrade;',
    'proxy_set_header Connection $connection_upgrade;',
    'proxy_buffering off;',
    'proxy_read_timeout 1h;'
  ]
    .map(l => indent + l)
    .join('\n');
}
