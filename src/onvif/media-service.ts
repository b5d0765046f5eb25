/**
 * The ONVIF media service (ver10/media/wsdl, Profile S): two profiles, `main` and `sub`, on the camera's one video
 * source, streamed by the agent's RTSP server; the snapshot is the console's HTTP snapshot. Sizes and frame rates
 * come from stream/device-streams.ts, like everything else that serves the streams.
 */
import { gopLength, type StreamSpec } from '../stream/device-streams.js';
import { STREAM_NAMES, type StreamName } from '../stream/live-video.js';
import { VIDEO_SOURCE_TOKEN } from './notifications.js';
import type { OperationTable, ServiceContext } from './service-context.js';
import { SoapFault, type SoapRequest, senderFault, textAt, type Xml, xml } from './soap.js';

const SOURCE_CONFIGURATION_TOKEN = 'VideoSourceConfig_1';

function encoderToken(stream: StreamName): string {
  return `VideoEncoder_${stream}`;
}

export function mediaServiceCapabilities(): Xml {
  return xml`<trt:Capabilities SnapshotUri="true" Rotation="false" VideoSourceMode="false" OSD="false"><trt:ProfileCapabilities MaximumNumberOfProfiles="${STREAM_NAMES.length}"/><trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true" NonAggregateControl="false" NoRTSPStreaming="false"/></trt:Capabilities>`;
}

function sourceConfiguration(context: ServiceContext): Xml {
  const { width, height } = context.streams.main.size;
  return xml`<tt:Name>camera</tt:Name><tt:UseCount>${STREAM_NAMES.length}</tt:UseCount><tt:SourceToken>${VIDEO_SOURCE_TOKEN}</tt:SourceToken><tt:Bounds x="0" y="0" width="${width}" height="${height}"/>`;
}

/** The picture the encoder makes (stream/encoder.ts): H.264 from x264's ultrafast preset, which is Baseline. */
function encoderConfiguration(spec: StreamSpec): Xml {
  return xml`<tt:Name>${spec.name}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>${spec.size.width}</tt:Width><tt:Height>${spec.size.height}</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>${spec.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval></tt:RateControl><tt:H264><tt:GovLength>${gopLength(spec.fps)}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264><tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout>`;
}

/** A profile's content; GetProfiles wraps each in trt:Profiles, GetProfile in trt:Profile. */
function profileContent(context: ServiceContext, stream: StreamName): Xml {
  return xml`<tt:Name>${stream}</tt:Name><tt:VideoSourceConfiguration token="${SOURCE_CONFIGURATION_TOKEN}">${sourceConfiguration(context)}</tt:VideoSourceConfiguration><tt:VideoEncoderConfiguration token="${encoderToken(stream)}">${encoderConfiguration(context.streams[stream])}</tt:VideoEncoderConfiguration>`;
}

/** What the encoder can be set to: exactly what it is (nothing on this camera can be set over ONVIF). */
function encoderOptions(spec: StreamSpec): Xml {
  const range = (value: number) => xml`<tt:Min>${value}</tt:Min><tt:Max>${value}</tt:Max>`;
  return xml`<trt:Options><tt:QualityRange>${range(5)}</tt:QualityRange><tt:H264><tt:ResolutionsAvailable><tt:Width>${spec.size.width}</tt:Width><tt:Height>${spec.size.height}</tt:Height></tt:ResolutionsAvailable><tt:GovLengthRange>${range(gopLength(spec.fps))}</tt:GovLengthRange><tt:FrameRateRange>${range(spec.fps)}</tt:FrameRateRange><tt:EncodingIntervalRange>${range(1)}</tt:EncodingIntervalRange><tt:H264ProfilesSupported>Baseline</tt:H264ProfilesSupported></tt:H264></trt:Options>`;
}

/** The stream a request names by profile token or encoder configuration token (ProfileToken wins). */
function streamNamedBy(request: SoapRequest): StreamName {
  if (textAt(request.body, 'ProfileToken') !== undefined) return profileOf(request);
  const token = textAt(request.body, 'ConfigurationToken');
  const stream = STREAM_NAMES.find((name) => encoderToken(name) === token);
  if (!stream)
    throw senderFault(
      'ter:NoConfig',
      `no video encoder configuration ${JSON.stringify(token ?? '')} (they are ${STREAM_NAMES.map(encoderToken).join(' and ')})`,
    );
  return stream;
}

function profileOf(request: SoapRequest): StreamName {
  const token = textAt(request.body, 'ProfileToken');
  const stream = STREAM_NAMES.find((name) => name === token);
  if (!stream)
    throw senderFault(
      'ter:NoProfile',
      `no profile ${JSON.stringify(token ?? '')} (the profiles are main and sub)`,
    );
  return stream;
}

function mediaUri(uri: string): Xml {
  return xml`<trt:MediaUri><tt:Uri>${uri}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>`;
}

function streamUri(request: SoapRequest, context: ServiceContext): Xml {
  const stream = profileOf(request);
  const kind = textAt(request.body, 'StreamSetup', 'Stream') ?? 'RTP-Unicast';
  const protocol = textAt(request.body, 'StreamSetup', 'Transport', 'Protocol') ?? 'RTSP';
  if (kind !== 'RTP-Unicast' || !['RTSP', 'UDP', 'TCP'].includes(protocol))
    throw senderFault(
      'ter:InvalidStreamSetup',
      `${kind} over ${protocol} is not offered: the streams are RTP unicast over RTSP (TCP or UDP)`,
    );
  if (!context.rtspUris)
    throw new SoapFault(
      'Receiver',
      'ter:ActionNotSupported',
      'no RTSP server runs (start the agent with --rtsp-port)',
    );
  return xml`<trt:GetStreamUriResponse>${mediaUri(context.rtspUris[stream])}</trt:GetStreamUriResponse>`;
}

function snapshotUri(request: SoapRequest, context: ServiceContext): Xml {
  profileOf(request);
  if (!context.snapshotUri)
    throw new SoapFault(
      'Receiver',
      'ter:ActionNotSupported',
      'no HTTP snapshot is served (start the agent with --ui)',
    );
  return xml`<trt:GetSnapshotUriResponse>${mediaUri(context.snapshotUri)}</trt:GetSnapshotUriResponse>`;
}

export const MEDIA_OPERATIONS: OperationTable = {
  GetServiceCapabilities: () =>
    xml`<trt:GetServiceCapabilitiesResponse>${mediaServiceCapabilities()}</trt:GetServiceCapabilitiesResponse>`,
  GetProfiles: (_request, context) =>
    xml`<trt:GetProfilesResponse>${STREAM_NAMES.map((stream) => xml`<trt:Profiles token="${stream}" fixed="true">${profileContent(context, stream)}</trt:Profiles>`)}</trt:GetProfilesResponse>`,
  GetProfile: (request, context) => {
    const stream = profileOf(request);
    return xml`<trt:GetProfileResponse><trt:Profile token="${stream}" fixed="true">${profileContent(context, stream)}</trt:Profile></trt:GetProfileResponse>`;
  },
  GetVideoSources: (_request, context) => {
    const { width, height } = context.streams.main.size;
    return xml`<trt:GetVideoSourcesResponse><trt:VideoSources token="${VIDEO_SOURCE_TOKEN}"><tt:Framerate>${context.streams.main.fps}</tt:Framerate><tt:Resolution><tt:Width>${width}</tt:Width><tt:Height>${height}</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`;
  },
  GetVideoSourceConfigurations: (_request, context) =>
    xml`<trt:GetVideoSourceConfigurationsResponse><trt:Configurations token="${SOURCE_CONFIGURATION_TOKEN}">${sourceConfiguration(context)}</trt:Configurations></trt:GetVideoSourceConfigurationsResponse>`,
  GetVideoEncoderConfigurations: (_request, context) =>
    xml`<trt:GetVideoEncoderConfigurationsResponse>${STREAM_NAMES.map((stream) => xml`<trt:Configurations token="${encoderToken(stream)}">${encoderConfiguration(context.streams[stream])}</trt:Configurations>`)}</trt:GetVideoEncoderConfigurationsResponse>`,
  GetVideoEncoderConfiguration: (request, context) => {
    const stream = streamNamedBy(request);
    return xml`<trt:GetVideoEncoderConfigurationResponse><trt:Configuration token="${encoderToken(stream)}">${encoderConfiguration(context.streams[stream])}</trt:Configuration></trt:GetVideoEncoderConfigurationResponse>`;
  },
  GetVideoEncoderConfigurationOptions: (request, context) => {
    // Without a token: the options of the main stream's encoder.
    const named = textAt(request.body, 'ProfileToken') ?? textAt(request.body, 'ConfigurationToken');
    const stream = named === undefined ? 'main' : streamNamedBy(request);
    return xml`<trt:GetVideoEncoderConfigurationOptionsResponse>${encoderOptions(context.streams[stream])}</trt:GetVideoEncoderConfigurationOptionsResponse>`;
  },
  GetStreamUri: streamUri,
  GetSnapshotUri: snapshotUri,
};
