namespace TrafficAudit.Cli;

/// <summary>
/// What each anomalies.csv counter means, in a few words, for the console (printed beside the
/// counters that appear) and for the README's table (a test keeps the two and the names in the
/// source in step). "kept": the packet is still audited; otherwise it is counted as malformed.
/// </summary>
public static class AnomalyExplanations
{
    public static readonly IReadOnlyDictionary<string, string> All = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // Capture files
        ["capture_timestamp_subsecond_out_of_range"] = "a record's sub-second time field is a second or more; carried into the seconds, as Wireshark does (kept)",
        ["capture_timestamp_out_of_range"] = "a record's time lies before 1678 or after 2262 (kept, time saturated)",
        ["capture_caplen_exceeds_snaplen"] = "a record holds more bytes than the file's snap length says (kept)",
        ["capture_caplen_exceeds_origlen"] = "a record holds more bytes than were on the wire (kept)",
        ["pcapng_option_truncated"] = "a pcapng option runs past its block; the rest of the block's options are ignored",
        ["pcapng_isb_bad_interface"] = "a pcapng statistics block names an interface that does not exist; ignored",
        ["pcapng_spb_no_timestamp"] = "a pcapng simple packet block with no earlier timestamp to reuse (time 0)",
        // Link layers and tunnels
        ["unknown_link_type"] = "a frame of a link type we do not decode",
        ["ethernet_truncated"] = "a frame shorter than an Ethernet header",
        ["vlan_truncated"] = "a frame that ends inside a VLAN tag",
        ["vlan_too_deep"] = "more stacked VLAN tags than we follow",
        ["mpls_truncated"] = "a frame that ends inside an MPLS label stack",
        ["pppoe_truncated"] = "a frame that ends inside a PPPoE header",
        ["ppp_truncated"] = "a frame that ends inside a PPP header",
        ["sll_truncated"] = "a frame shorter than a Linux cooked (SLL) header",
        ["sll2_truncated"] = "a frame shorter than a Linux cooked v2 (SLL2) header",
        ["loopback_truncated"] = "a frame shorter than a BSD loopback header",
        ["gre_truncated"] = "a frame that ends inside a GRE header",
        ["gre_unsupported_version"] = "a GRE header of a version we do not decode",
        ["gre_unsupported_routing"] = "a GRE header with source routing, which we do not decode",
        ["erspan_truncated"] = "a frame that ends inside an ERSPAN header",
        ["tunnel_too_deep"] = "more nested tunnels than we follow",
        // IP
        ["ip_truncated"] = "a frame that ends before the IP version field",
        ["ip_bad_version"] = "an IP header whose version is neither 4 nor 6",
        ["ipv4_truncated"] = "a frame that ends inside the IPv4 header",
        ["ipv4_bad_version"] = "an IPv4 header whose version field is not 4",
        ["ipv4_bad_header_length"] = "an IPv4 header length below 20 bytes or past the frame",
        ["ipv4_bad_total_length"] = "an IPv4 total length smaller than its header",
        ["ipv4_zero_total_length"] = "an IPv4 total length of 0, as segmentation offload writes (kept, length taken from the capture)",
        ["ipv6_truncated"] = "a frame that ends inside the IPv6 header",
        ["ipv6_bad_version"] = "an IPv6 header whose version field is not 6",
        ["ipv6_bad_payload_length"] = "an IPv6 payload length past the frame",
        ["ipv6_jumbogram"] = "an IPv6 jumbogram (payload length 0) (kept)",
        ["ipv6_extension_truncated"] = "a frame that ends inside an IPv6 extension header",
        ["ipv6_too_many_extension_headers"] = "more IPv6 extension headers than we follow",
        ["ah_truncated"] = "a frame that ends inside an IPsec AH header",
        ["ip_payload_truncated_by_snaplen"] = "the capture kept fewer bytes than the IP packet had (snap length); headers were read (kept)",
        ["ip_fragment_truncated"] = "an IP fragment cut short by the capture",
        ["ip_fragment_bad_length"] = "an IP fragment whose length is not a multiple of 8 though more follow",
        ["ip_fragment_too_large"] = "IP fragments that would make a datagram over 65,535 bytes",
        ["ip_fragment_header_too_long"] = "a first fragment whose headers do not fit in it",
        ["ip_fragment_inconsistent_length"] = "fragments of one datagram that disagree on its length",
        ["ip_fragment_overlap"] = "fragments of one datagram whose bytes overlap with different content",
        ["ip_fragment_duplicate"] = "a fragment received twice (kept once)",
        ["ip_fragment_evicted"] = "a datagram being reassembled dropped to stay within the memory budget",
        ["ip_fragment_timeout"] = "a datagram whose fragments did not all arrive within the reassembly timeout",
        ["ip_fragment_incomplete"] = "a datagram still missing fragments when the capture ended",
        // Transport
        ["udp_truncated"] = "a frame that ends inside the UDP header",
        ["udp_bad_length"] = "a UDP length field below 8 or past the IP payload",
        ["tcp_truncated"] = "a frame that ends inside the TCP header",
        ["tcp_bad_data_offset"] = "a TCP header length below 20 bytes or past the segment",
        ["icmp_truncated"] = "a frame that ends inside the ICMP header",
        ["icmpv6_truncated"] = "a frame that ends inside the ICMPv6 header",
        ["icmp_quote_truncated"] = "an ICMP error whose quoted packet is cut short (kept, the quote is not matched to a flow)",
        ["icmp_unreachable_unknown_flow"] = "an ICMP unreachable about a flow the capture never showed",
        ["sctp_truncated"] = "a frame that ends inside the SCTP header",
        // SIP and SDP
        ["sip_bad_start_line"] = "a SIP message whose first line is neither a request nor a status line",
        ["sip_bad_header_line"] = "a SIP header line without a colon",
        ["sip_headers_not_terminated"] = "a SIP message whose headers have no blank line after them",
        ["sip_bad_content_length"] = "a SIP Content-Length that is not a number or runs past the message",
        ["sip_truncated_body"] = "a SIP body shorter than its Content-Length",
        ["sip_bad_cseq"] = "a SIP CSeq header that is not 'number METHOD'",
        ["sip_bad_via"] = "a SIP Via header we cannot read",
        ["sip_missing_call_id"] = "a SIP message without Call-ID (not counted in a call)",
        ["sip_missing_cseq"] = "a SIP message without CSeq (not counted in a transaction)",
        ["sip_missing_via"] = "a SIP message without Via (not counted in a transaction)",
        ["sip_response_without_request"] = "a SIP response whose request the capture does not hold (capture started mid-transaction, or asymmetric SPAN)",
        ["sip_transaction_other_sender"] = "a SIP request that repeats a transaction (same Call-ID, CSeq and branch) from another address than the first sender: not counted as a retransmission",
        ["sip_reinvite_unknown_call"] = "a re-INVITE (To tag set) for a call whose first INVITE the capture does not hold",
        ["sip_transactions_not_kept"] = "SIP transactions beyond the number kept in memory: counted in the totals, not listed one by one",
        ["sip_tcp_stream_limit"] = "SIP-over-TCP connections beyond the number followed at once: not decoded",
        ["sip_tcp_buffer_overflow"] = "a SIP-over-TCP gap that could not be filled within the buffer: the missing bytes are given up",
        ["sip_tcp_incomplete_message"] = "a SIP-over-TCP connection that closed in the middle of a message",
        ["sip_tcp_missing_content_length"] = "a SIP message over TCP without Content-Length (required on TCP, RFC 3261 20.14)",
        ["sip_open_transaction_limit"] = "a SIP request beyond the number of transactions open at once (a flood of unanswered requests): counted in the totals, not followed",
        ["sip_transaction_copy_limit"] = "a SIP response or request sender beyond the number remembered per transaction: handled as new, its copies are not recognised",
        ["sip_call_user_agent_limit"] = "a User-Agent or Server value beyond the number kept per call: not listed in user_agents",
        ["sip_call_media_endpoint_limit"] = "an SDP media endpoint beyond the number kept per call: not listed, media sent there is not tied to the call",
        ["sip_call_media_change_limit"] = "an SDP body beyond the number kept per call: still applied to the media bindings, not kept in the call's history",
        ["sip_call_reinvite_limit"] = "a re-INVITE beyond the number of re-INVITE identities remembered per call: still counted (a proxy's copy may count twice)",
        ["sip_tcp_total_buffer_limit"] = "SIP-over-TCP reassembly over the memory budget of all connections together: the stream's unfinished bytes are given up",
        ["sdp_bad_body"] = "an SDP body we cannot read",
        ["sdp_bad_line"] = "an SDP line that is not 'x=value'",
        ["sdp_bad_connection"] = "an SDP c= line with an address we cannot read",
        ["sdp_missing_connection"] = "an SDP media section without a c= address, at session or media level",
        ["sdp_bad_media_line"] = "an SDP m= line we cannot read",
        ["sdp_bad_rtpmap"] = "an SDP a=rtpmap attribute we cannot read",
        ["sdp_bad_ptime"] = "an SDP a=ptime attribute that is not a number of ms",
        // Caps of the RTP stage and of the findings (the README's table of caps)
        ["rtp_flow_ssrc_limit"] = "an RTP packet of a new SSRC on a flow that already has the most streams measured per flow: counted in the flow only",
        ["rtp_call_ssrc_limit"] = "an RTP packet of a new stream of a call that already has the most streams per call: counted in its flow only",
        ["findings_summarised"] = "findings past the cap per kind and client address (a port scan, a flood): counted in one summary finding, not listed one by one",
    };

    /// <summary>The explanation of <paramref name="name"/>, or a pointer to the README for a name this list does not know yet.</summary>
    public static string Explain(string name) => All.TryGetValue(name, out var text) ? text : "see anomalies.csv in the README";
}
