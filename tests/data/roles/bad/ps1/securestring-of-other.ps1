# expect: which does not come from a secret file
$ErrorActionPreference = 'Stop'
. C:\ProgramData\nestlab\facts.ps1
$plain = $env:PASSWORD
$p = ConvertTo-SecureString -String $plain -AsPlainText -Force
