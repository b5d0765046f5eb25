/** The ONVIF device service (ver10/device/wsdl): who the device is, its clock, its services and its one interface. */

import { eventServiceCapabilities } from './event-service.js';
import { macAddressOf, scopesOf } from './identity.js';
import { mediaServiceCapabilities } from './media-service.js';
import { type OperationTable, SERVICE_PATHS, type ServiceContext } from './service-context.js';
import { NS, type SoapRequest, senderFault, textAt, type Xml, xml } from './soap.js';

/** The ONVIF version these services follow. */
const VERSION = xml`<tt:Major>2</tt:Major><tt:Minor>60</tt:Minor>`;

export function deviceServiceCapabilities(): Xml {
  return xml`<tds:Capabilities><tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false" Dot11Configuration="false" HostnameFromDHCP="false" NTP="0"/><tds:Security TLS1.0="false" TLS1.1="false" TLS1.2="false" OnboardKeyGeneration="false" AccessPolicyConfig="false" DefaultAccessPolicy="false" Dot1X="false" RemoteUserHandling="false" X.509Token="false" SAMLToken="false" KerberosToken="false" UsernameToken="true" HttpDigest="false" RELToken="false"/><tds:System DiscoveryResolve="false" DiscoveryBye="true" RemoteDiscovery="false" SystemBackup="false" SystemLogging="false" FirmwareUpgrade="false" HttpFirmwareUpgrade="false" HttpSystemBackup="false" HttpSystemLogging="false" HttpSupportInformation="false"/></tds:Capabilities>`;
}

function url(context: ServiceContext, path: string): string {
  return context.origin + path;
}

function systemDateAndTime(context: ServiceContext): Xml {
  const now = new Date(context.now);
  return xml`<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime><tt:Time><tt:Hour>${now.getUTCHours()}</tt:Hour><tt:Minute>${now.getUTCMinutes()}</tt:Minute><tt:Second>${now.getUTCSeconds()}</tt:Second></tt:Time><tt:Date><tt:Year>${now.getUTCFullYear()}</tt:Year><tt:Month>${now.getUTCMonth() + 1}</tt:Month><tt:Day>${now.getUTCDate()}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`;
}

const CATEGORIES = ['All', 'Device', 'Events', 'Media'];

function capabilities(request: SoapRequest, context: ServiceContext): Xml {
  const asked = textAt(request.body, 'Category') ?? 'All';
  if (!CATEGORIES.includes(asked))
    throw senderFault(
      'ter:NoSuchService',
      `this device has no ${asked} service (it offers Device, Media, Events)`,
    );
  const wants = (category: string) => asked === 'All' || asked === category;
  const device = xml`<tt:Device><tt:XAddr>${url(context, SERVICE_PATHS.device)}</tt:XAddr><tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network><tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade><tt:SupportedVersions>${VERSION}</tt:SupportedVersions></tt:System><tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2><tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration><tt:AccessPolicyConfig>false</tt:AccessPolicyConfig><tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false</tt:SAMLToken><tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false</tt:RELToken></tt:Security></tt:Device>`;
  const events = xml`<tt:Events><tt:XAddr>${url(context, SERVICE_PATHS.events)}</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport><tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>`;
  const media = xml`<tt:Media><tt:XAddr>${url(context, SERVICE_PATHS.media)}</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>`;
  return xml`<tds:GetCapabilitiesResponse><tds:Capabilities>${wants('Device') ? device : undefined}${wants('Events') ? events : undefined}${wants('Media') ? media : undefined}</tds:Capabilities></tds:GetCapabilitiesResponse>`;
}

function services(request: SoapRequest, context: ServiceContext): Xml {
  const withCapabilities = textAt(request.body, 'IncludeCapability') === 'true';
  const service = (namespace: string, path: string, capabilities: Xml) =>
    xml`<tds:Service><tds:Namespace>${namespace}</tds:Namespace><tds:XAddr>${url(context, path)}</tds:XAddr>${withCapabilities ? xml`<tds:Capabilities>${capabilities}</tds:Capabilities>` : undefined}<tds:Version>${VERSION}</tds:Version></tds:Service>`;
  return xml`<tds:GetServicesResponse>${[
    service(NS.device, SERVICE_PATHS.device, deviceServiceCapabilities()),
    service(NS.media, SERVICE_PATHS.media, mediaServiceCapabilities()),
    service(NS.events, SERVICE_PATHS.events, eventServiceCapabilities()),
  ]}</tds:GetServicesResponse>`;
}

/** The one simulated interface: the address the client reached the device on, and a MAC derived from its id. */
function networkInterfaces(context: ServiceContext): Xml {
  const host = new URL(context.origin).hostname;
  const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(host)
    ? xml`<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual><tt:Address>${host}</tt:Address><tt:PrefixLength>24</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>`
    : undefined;
  return xml`<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>${macAddressOf(context.device.deviceId)}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>${ipv4}</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>`;
}

/** The ports a client reaches: ONVIF's own HTTP port, and RTSP's when it runs. */
function networkProtocols(context: ServiceContext): Xml {
  const protocol = (name: string, port: string) =>
    xml`<tds:NetworkProtocols><tt:Name>${name}</tt:Name><tt:Enabled>true</tt:Enabled><tt:Port>${port}</tt:Port></tds:NetworkProtocols>`;
  const rtsp = context.rtspUris ? new URL(context.rtspUris.main).port || '554' : undefined;
  return xml`<tds:GetNetworkProtocolsResponse>${protocol('HTTP', new URL(context.origin).port || '80')}${rtsp ? protocol('RTSP', rtsp) : undefined}</tds:GetNetworkProtocolsResponse>`;
}

export const DEVICE_OPERATIONS: OperationTable = {
  GetSystemDateAndTime: (_request, context) => systemDateAndTime(context),
  GetDeviceInformation: (_request, { device }) =>
    xml`<tds:GetDeviceInformationResponse><tds:Manufacturer>${device.manufacturer}</tds:Manufacturer><tds:Model>${device.model}</tds:Model><tds:FirmwareVersion>${device.firmwareVersion}</tds:FirmwareVersion><tds:SerialNumber>${device.deviceId}</tds:SerialNumber><tds:HardwareId>${device.model}</tds:HardwareId></tds:GetDeviceInformationResponse>`,
  GetCapabilities: capabilities,
  GetServices: services,
  GetServiceCapabilities: () =>
    xml`<tds:GetServiceCapabilitiesResponse>${deviceServiceCapabilities()}</tds:GetServiceCapabilitiesResponse>`,
  GetNetworkInterfaces: (_request, context) => networkInterfaces(context),
  // A simulated interface: no gateway, DNS or NTP server is configured, none comes from DHCP.
  GetNetworkDefaultGateway: () =>
    xml`<tds:GetNetworkDefaultGatewayResponse><tds:NetworkGateway/></tds:GetNetworkDefaultGatewayResponse>`,
  GetDNS: () =>
    xml`<tds:GetDNSResponse><tds:DNSInformation><tt:FromDHCP>false</tt:FromDHCP></tds:DNSInformation></tds:GetDNSResponse>`,
  GetNTP: () =>
    xml`<tds:GetNTPResponse><tds:NTPInformation><tt:FromDHCP>false</tt:FromDHCP></tds:NTPInformation></tds:GetNTPResponse>`,
  GetNetworkProtocols: (_request, context) => networkProtocols(context),
  GetHostname: (_request, { device }) =>
    xml`<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP><tt:Name>${device.deviceId}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>`,
  GetScopes: (_request, { device }) =>
    xml`<tds:GetScopesResponse>${scopesOf(device).map((scope) => xml`<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>${scope}</tt:ScopeItem></tds:Scopes>`)}</tds:GetScopesResponse>`,
  GetDiscoveryMode: () =>
    xml`<tds:GetDiscoveryModeResponse><tds:DiscoveryMode>Discoverable</tds:DiscoveryMode></tds:GetDiscoveryModeResponse>`,
  GetEndpointReference: (_request, { endpoint }) =>
    xml`<tds:GetEndpointReferenceResponse><tds:GUID>${endpoint}</tds:GUID></tds:GetEndpointReferenceResponse>`,
};
