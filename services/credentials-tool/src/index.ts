export { runCredentialsTool, USAGE, formatReport, formatStatus, type Output } from './tool.ts';
export { reencryptAll, type ReencryptMode, type ReencryptReport } from './reencrypt.ts';
export { credentialsStatus, type StatusReport } from './status.ts';
