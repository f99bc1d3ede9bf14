# expect: on a command line
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
$s = Get-Content -Raw C:\ProgramData\nestlab\secrets\domain-admin
& net.exe user Administrator $s
