export { runCredentialsTool, USAGE, formatReport, formatStatus, type Output } from './tool.ts';
export { reencryptAll, credentialsStatus, type ReencryptMode, type ReencryptReport, type StatusReport } from './reencrypt.ts';
