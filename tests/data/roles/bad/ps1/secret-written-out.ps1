# expect: written out
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
$s = (Get-Content -Raw -LiteralPath 'C:\ProgramData\nestlab\secrets\dsrm')
Write-Output $s
