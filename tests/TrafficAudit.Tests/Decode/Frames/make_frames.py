# Builds the hand-made test frames for the decoder tests, writes each to a pcap and prints
# `tshark -r NAME.pcap` and `tshark -r NAME.pcap -x` for it (tshark is the oracle; tests do not need it).
import struct, subprocess, sys
def csum(b):
    if len(b)%2: b+=b'\0'
    s=sum(struct.unpack('!%dH'%(len(b)//2),b))
    while s>>16: s=(s&0xffff)+(s>>16)
    return (~s)&0xffff
def ip4(a): return bytes(int(x) for x in a.split('.'))
import ipaddress
def ip6(a): return ipaddress.IPv6Address(a).packed
def eth(t, payload, dst='00:50:56:00:00:02', src='00:50:56:00:00:01'):
    return bytes.fromhex(dst.replace(':',''))+bytes.fromhex(src.replace(':',''))+struct.pack('!H',t)+payload
def vlan(nexttype, vid, pcp=0): return struct.pack('!HH', (pcp<<13)|vid, nexttype)
def ipv4(src,dst,proto,payload,ident=0x1234,ttl=64,flags=0x4000,options=b'',total=None):
    ihl=5+len(options)//4
    tl= total if total is not None else 20+len(options)+len(payload)
    h=struct.pack('!BBHHHBBH4s4s',0x40|ihl,0,tl,ident,flags,ttl,proto,0,ip4(src),ip4(dst))+options
    h=h[:10]+struct.pack('!H',csum(h))+h[12:]
    return h+payload
def ipv6(src,dst,nh,payload,hop=64,plen=None):
    return struct.pack('!IHBB',0x60000000,len(payload) if plen is None else plen,nh,hop)+ip6(src)+ip6(dst)+payload
def udp(sp,dp,data): return struct.pack('!HHHH',sp,dp,8+len(data),0)+data
def tcp(sp,dp,seq,ack,flags,win,data=b'',options=b''):
    doff=5+len(options)//4
    return struct.pack('!HHIIBBHHH',sp,dp,seq,ack,doff<<4,flags,win,0,0)+options+data
def write(name, link, frames):
    with open(name+'.pcap','wb') as f:
        f.write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,link))
        for i,fr in enumerate(frames):
            f.write(struct.pack('<IIII',1,i,len(fr),len(fr))+fr)
    print('=== '+name)
    print(subprocess.run(['tshark','-r',name+'.pcap','-o','gui.column.format:"No.","%m","Protocol","%p","Info","%i"'] ,capture_output=True,text=True).stdout, end='')
    print(subprocess.run(['tshark','-r',name+'.pcap','-x'],capture_output=True,text=True).stdout)

# ---- the frames (each written to NAME.pcap, then dumped with tshark -x) ----
sip=b'OPTIONS sip:a SIP/2.0\r\n'
A,B='10.0.0.1','10.0.0.2'
A6,B6='2001:db8::1','2001:db8::2'
# 1 Ethernet IPv4 UDP
write('eth_ipv4_udp',1,[eth(0x0800, ipv4(A,B,17,udp(5060,5060,sip)))])
# 2 Ethernet IPv4 with options + TCP with options, SYN
write('eth_ipv4opt_tcp',1,[eth(0x0800, ipv4('192.168.1.10','192.168.1.20',6,tcp(49152,443,0x01020304,0,0x02,64240,b'',bytes.fromhex('020405b40101040201030307')),options=bytes.fromhex('01010100')))])
# 3 Ethernet padding: small UDP padded with zeros to 60 bytes
write('eth_ipv4_udp_padded',1,[eth(0x0800, ipv4(A,B,17,udp(1000,2000,b'hi')))+b'\0'*16])
# 4 three stacked tags 88a8/8100/8100
write('eth_qinqinq_ipv4_udp',1,[eth(0x88a8, vlan(0x8100,100)+vlan(0x8100,200)+vlan(0x0800,300)+ipv4(A,B,17,udp(5060,5062,sip)))])
# 5 9100 tag + 8100
write('eth_9100_ipv6_udp',1,[eth(0x9100, vlan(0x8100,7)+vlan(0x86dd,42)+ipv6(A6,B6,17,udp(5060,5060,sip)))])
# 6 MPLS two labels then IPv6 UDP
write('eth_mpls_ipv6_udp',1,[eth(0x8847, struct.pack('!I',(1000<<12)|(0<<8)|64)+struct.pack('!I',(2000<<12)|(1<<8)|64)+ipv6(A6,B6,17,udp(16384,16386,b'\x80\x00\x00\x01')))])
# 7 SLL ipv4 udp
write('sll_ipv4_udp',113,[struct.pack('!HHH8sH',0,1,6,bytes.fromhex('005056000001')+b'\0\0',0x0800)+ipv4(A,B,17,udp(5060,5060,sip))])
# 8 SLL2 ipv6 tcp
write('sll2_ipv6_tcp',276,[struct.pack('!HHIHBB8s',0x86dd,0,2,1,4,6,bytes.fromhex('005056000001')+b'\0\0')+ipv6(A6,B6,6,tcp(5061,40000,1000,2000,0x18,512,b'data'))])
# 9 Null little-endian AF_INET, Null big-endian AF_INET6 (30), Loop AF_INET
write('null_le_ipv4_udp',0,[struct.pack('<I',2)+ipv4(A,B,17,udp(7000,7001,b'x'))])
write('null_be_ipv6_udp',0,[struct.pack('>I',30)+ipv6(A6,B6,17,udp(7000,7001,b'x'))])
write('loop_ipv4_udp',108,[struct.pack('>I',2)+ipv4(A,B,17,udp(7000,7001,b'x'))])
# 10 raw ipv6 udp
write('raw_ipv6_udp',101,[ipv6(A6,B6,17,udp(5060,5060,sip))])
# 11 PPPoE session ipv4 udp
pp=ipv4(A,B,17,udp(5060,5060,sip))
write('eth_pppoe_ipv4_udp',1,[eth(0x8864, struct.pack('!BBHHH',0x11,0,0x1234,len(pp)+2,0x0021)+pp)])
# 12 PPP linktype 9
write('ppp_ipv4_udp',9,[b'\xff\x03\x00\x21'+ipv4(A,B,17,udp(5060,5060,sip))])
# 13 IPv6 ext: hop-by-hop (8), routing type 0 seg 0 (24: hdr + 1 addr), dest opts (8) -> UDP
hbh=bytes([43,0,1,4,0,0,0,0])
rt=bytes([60,2,0,0,0,0,0,0])+ip6('2001:db8::99')
do=bytes([17,0,1,4,0,0,0,0])
write('eth_ipv6_ext_udp',1,[eth(0x86dd, ipv6(A6,B6,0,hbh+rt+do+udp(5060,5060,sip)))])
# 14 IPv6 AH -> TCP ; IPv4 ESP
ah=bytes([6,4,0,0])+struct.pack('!II',0x100,1)+b'\xaa'*12
write('eth_ipv6_ah_tcp',1,[eth(0x86dd, ipv6(A6,B6,51,ah+tcp(5061,5061,7,8,0x10,100,b'zz')))])
write('eth_ipv4_esp',1,[eth(0x0800, ipv4(A,B,50,struct.pack('!II',0x100,1)+b'\x55'*16))])
# 15 IP-in-IP: 4 in 4, 6 in 4
write('eth_ipip_udp',1,[eth(0x0800, ipv4('192.0.2.1','192.0.2.2',4,ipv4(A,B,17,udp(5060,5060,sip))))])
write('eth_6in4_udp',1,[eth(0x0800, ipv4('192.0.2.1','192.0.2.2',41,ipv6(A6,B6,17,udp(5060,5060,sip))))])
# 16 GRE with C,K,S -> IPv4 UDP
gre_cks=struct.pack('!HHHHII',0xB000,0x0800,0,0,0x2a,7)
write('eth_gre_cks_ipv4_udp',1,[eth(0x0800, ipv4('192.0.2.1','192.0.2.2',47,gre_cks+ipv4(A,B,17,udp(5060,5060,sip))))])
# 17 GRE TEB -> Ethernet/VLAN/IPv4 UDP
inner=eth(0x8100, vlan(0x0800,55)+ipv4(A,B,17,udp(5060,5060,sip)), dst='00:00:5e:00:53:02', src='00:00:5e:00:53:01')
write('eth_gre_teb_vlan_udp',1,[eth(0x0800, ipv4('192.0.2.1','192.0.2.2',47,struct.pack('!HHI',0x2000,0x6558,0)+inner))])
# 18 ERSPAN I (0x88BE no seq), II (seq + 8B), III (12B), III with O bit (12+8)
inner=eth(0x0800, ipv4(A,B,17,udp(5060,5060,sip)), dst='00:00:5e:00:53:02', src='00:00:5e:00:53:01')
write('eth_erspan1_udp',1,[eth(0x0800, ipv4('192.0.2.1','192.0.2.2',47,struct.pack('!HH',0x0000,0x88be)+inner))])
e2=struct.pack('!HHI',(1<<12)|10,(0<<13)|(3<<11)|(0<<10)|5,0)
write('eth_erspan2_udp',1,[eth(0x0800, ipv4('192.0.2.1','192.0.2.2',47,struct.pack('!HHI',0x1000,0x88be,1)+e2+inner))])
e3=struct.pack('!HHIHH',(2<<12)|10,5,0x12345678,0,0)
write('eth_erspan3_udp',1,[eth(0x0800, ipv4('192.0.2.1','192.0.2.2',47,struct.pack('!HHI',0x1000,0x22eb,1)+e3+inner))])
e3o=struct.pack('!HHIHH',(2<<12)|10,5,0x12345678,0,(1<<1)|1)+struct.pack('!II',(3<<26)|0x11,0x9abcdef0)
write('eth_erspan3o_udp',1,[eth(0x0800, ipv4('192.0.2.1','192.0.2.2',47,struct.pack('!HHI',0x1000,0x22eb,1)+e3o+inner))])
# 19 ICMP unreachable quoting UDP; ICMPv6 unreachable quoting UDP; ICMP time exceeded quoting TCP
q=ipv4(A,B,17,udp(5060,5080,sip))[:28]
ic=struct.pack('!BBHI',3,3,0,0)+q; ic=ic[:2]+struct.pack('!H',csum(ic))+ic[4:]
write('eth_icmp_unreach_udp',1,[eth(0x0800, ipv4(B,A,1,ic))])
q6=ipv6(A6,B6,17,udp(5060,5080,sip))[:48]
write('eth_icmpv6_unreach_udp',1,[eth(0x86dd, ipv6(B6,A6,58,struct.pack('!BBHI',1,4,0,0)+q6))])
qt=ipv4(A,'198.51.100.7',6,tcp(40000,443,1,0,2,1000))[:28]
ic=struct.pack('!BBHI',11,0,0,0)+qt; ic=ic[:2]+struct.pack('!H',csum(ic))+ic[4:]
write('eth_icmp_ttl_tcp',1,[eth(0x0800, ipv4('203.0.113.1',A,1,ic))])
# 20 ARP and STP (802.3 LLC)
write('eth_arp',1,[eth(0x0806, bytes.fromhex('0001080006040001005056000001')+ip4(A)+bytes(6)+ip4(B))])
stp=bytes.fromhex('0180c2000000005056000001')+struct.pack('!H',38)+bytes.fromhex('424203000000000080000050560000010000000080000050560000018001000014000200000000')[:38]
write('eth_stp',1,[stp+bytes(60-len(stp))])

# Usage: python3 make_frames.py > out.txt; then emit_frames.py turns out.txt into Frames.cs.
