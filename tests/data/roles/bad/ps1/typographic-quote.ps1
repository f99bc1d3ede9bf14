# expect: typographic quote
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
Write-Output “hello”
