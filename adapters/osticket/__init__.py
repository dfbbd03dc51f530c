"""The legacy customer portal (osTicket + XML read API): HTTP Basic, GBK XML, naive UTC+8 times."""
