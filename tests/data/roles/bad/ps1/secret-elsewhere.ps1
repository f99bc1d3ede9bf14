# expect: secrets are read from
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
$s = Get-Content -Raw C:\temp\secrets\dsrm
